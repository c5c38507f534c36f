// Boot CPU: the core's drivers, then the MicroPython runtime and its REPL,
// restarted at each soft reset.
#include <stdio.h>

#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "shared/runtime/softtimer.h"
#include "core/boot_info.h"
#include "core/cpu.h"
#include "core/exception.h"
#include "core/gic.h"
#include "core/smp.h"
#include "core/sysreg.h"
#include "core/timer.h"
#include "core/uart_pl011.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "aarch64.h"
#include "gccollect.h"
#include "mphalport.h"

uint64_t boot_ticks;

// Stack headroom kept free below the Python limit for IRQ handlers and C calls.
#define STACK_MARGIN (16 * 1024)

// Started at EL1: this firmware is a hypervisor and cannot run there.
void boot_wrong_el(uint64_t el) {
    uart_init();
    printf("\nThis firmware must start at EL2 but was entered at EL%u.\n"
        "Start QEMU with -M virt,virtualization=on (or let the Pi's firmware enter at EL2).\n",
        (unsigned)el);
    halt();
}

// Without a driven interrupt controller the firmware runs on polled input:
// say so, and what that means, before the banner.
// Python frames live here, not on the heap: MicroPython puts a frame larger
// than 88 bytes (any function with a try block or a few locals) on the heap
// otherwise, and an allocation per call made pcpu's enable/disable cost
// 2,000 instructions more, varying with how the heap happened to be laid out.
static mp_obj_t pystack[MICROPY_PYSTACK_BYTES / sizeof(mp_obj_t)];

static void report_interrupt_controller(void) {
    static const char *const why[] = {
        [GIC_UNKNOWN] = "no interrupt controller this firmware recognises",
        [GIC_V2_SECURE_ONLY] = "a GICv2 whose interrupts cannot be enabled from the Non-secure side"
                               " (a Raspberry Pi 4 needs enable_gic=1 in config.txt)",
        [GIC_V3] = "a GICv3",
        [GIC_V4] = "a GICv4",
    };
    if (gic_driven()) {
        return;
    }
    mp_printf(&mp_plat_print,
        "\n[interrupts: %s at 0x%08lx; this firmware drives a GICv2, or a GICv3 with the board's redistributors.\n"
        " Running without interrupts: console input, machine.Timer and the other CPUs are polled,\n"
        " Ctrl-C works while Python waits or runs; IRQ_HANDLER is not called and guests cannot run.]\n",
        why[gic_kind()], (unsigned long)BOARD_GICD_BASE);
}

void port_main(uint64_t dtb) {
    cpu_local_online();
    uart_init();
    boot_info_init(dtb);
    gic_probe();
    gic_dist_init();
    gic_check_nonsecure(BOARD_UART_INTID);
    gic_cpu_init();
    timer_init();
    smp_init_irqs();
    mphal_init();
    exception_set_fault_resume(aarch64_fault_resume);
    sysreg_set_write_check(aarch64_sysreg_write_check);
    irq_enable();
    report_interrupt_controller();
    smp_start_secondaries();

    mp_stack_set_top(__stacks_start + STACK_SIZE);
    mp_stack_set_limit(STACK_SIZE - STACK_MARGIN);
    gc_init(__heap_start, __heap_end);

    for (;;) {
        mp_pystack_init(pystack, pystack + MP_ARRAY_SIZE(pystack));
        mp_init();
        readline_init0();
        gc_pacing_start();
        // The RAM disk at / (firmware/_boot.py), then the user's boot.py and,
        // at the friendly REPL only, main.py: as MicroPython's other ports do.
        pyexec_frozen_module("_boot.py", false);
        pyexec_file_if_exists("boot.py");
        if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
            pyexec_file_if_exists("main.py");
        }
        if (boot_ticks == 0) {
            boot_ticks = timer_counter();   // counter at the first prompt: boot cost under -icount
        }

        for (;;) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                if (pyexec_raw_repl() != 0) {
                    break;
                }
            } else {
                if (pyexec_friendly_repl() != 0) {
                    break;
                }
            }
        }

        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        soft_timer_deinit();
        vm_reset_all();             // before the CPUs' state is restored: it stops the guests
        cpu_restore_boot_state_all();
        vcpu_slots_reset();
        gc_sweep_all();
        mp_deinit();
    }
}

void nlr_jump_fail(void *val) {
    mp_printf(&mp_plat_print, "FATAL: uncaught NLR %p\n", val);
    halt();
}

void NORETURN __fatal_error(const char *msg) {
    mp_printf(&mp_plat_print, "FATAL: %s\n", msg);
    halt();
}

#ifndef NDEBUG
void MP_WEAK __assert_func(const char *file, int line, const char *func, const char *expr) {
    mp_printf(&mp_plat_print, "Assertion '%s' failed, at file %s:%d\n", expr, file, line);
    __fatal_error("Assertion failed");
}
#endif
