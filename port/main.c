// Boot CPU: drivers, then the MicroPython runtime and its REPL.
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
#include "boot/el2_defs.h"
#include "aarch64.h"
#include "cpu.h"
#include "gic.h"
#include "smp.h"
#include "timer.h"
#include "uart_pl011.h"
#include "vcpu.h"

uint64_t boot_ticks;

// Garbage collection paced by the live heap. Collecting only when 32 MiB are
// full lets garbage pile up, and MicroPython's multi-block allocations then
// rescan every block used since the last collection (a vCPU exit record costs
// ten times more); collecting every few KiB makes a program that builds
// megabytes of live data quadratic. So: collect after allocating as much as
// is live (at least GC_THRESHOLD_MIN), as Go's collector does by default. A
// gc.threshold() call by the user turns this off.
#define GC_THRESHOLD_MIN (16 * 1024)
static size_t gc_auto_threshold;       // in blocks; what we set last

// Bytes in use: the allocation table's non-free entries (2 bits per block),
// up to the highest block in use, as far as the sweep itself goes.
static size_t gc_used_bytes(void) {
    const mp_state_mem_area_t *area = &MP_STATE_MEM(area);
    const uint64_t *w = (const uint64_t *)area->gc_alloc_table_start;
    size_t words = MIN(area->gc_last_used_block / 32 + 1, area->gc_alloc_table_byte_len / 8);
    size_t used = 0;
    for (size_t i = 0; i < words; ++i) {
        used += __builtin_popcountll((w[i] | (w[i] >> 1)) & 0x5555555555555555ull);
    }
    return used * MICROPY_BYTES_PER_GC_BLOCK;
}

static void gc_pace(void) {
    if (MP_STATE_MEM(gc_alloc_threshold) == gc_auto_threshold) {
        size_t bytes = MAX(GC_THRESHOLD_MIN, gc_used_bytes() / 2);
        gc_auto_threshold = bytes / MICROPY_BYTES_PER_GC_BLOCK;
        MP_STATE_MEM(gc_alloc_threshold) = gc_auto_threshold;
    }
}

// Stack headroom kept free below the Python limit for IRQ handlers and C calls.
#define STACK_MARGIN (16 * 1024)

unsigned int cpu_online_count(void) {
    unsigned int n = 0;
    for (unsigned int i = 0; i < MAX_CPUS; ++i) {
        n += cpu_local[i].online;
    }
    return n;
}

// Started at EL1: this firmware is a hypervisor and cannot run there.
void boot_wrong_el(uint64_t el) {
    uart_init();
    printf("\nThis firmware must start at EL2 but was entered at EL%u.\n"
        "Start QEMU with -M virt,virtualization=on (or let the Pi's firmware enter at EL2).\n",
        (unsigned)el);
    halt();
}

// Every CPU's EL2 registers back to their boot values, so a soft reset never
// leaves a CPU on the vCPU vectors with its saved state gone.
static void restore_boot_state_call(smp_mailbox_t *mb) {
    (void)mb;
    SYSREG_WRITE(vbar_el2, host_exception_vectors);
    SYSREG_WRITE(hcr_el2, HCR_EL2_BOOT);
    isb();
    if (cpu_index() != 0) {
        timer_cpu_tick_start(0);
    }
}

static void cpu_restore_boot_state(void) {
    for (unsigned int cpu = 0; cpu < MAX_CPUS; ++cpu) {
        if (cpu_local[cpu].online) {
            smp_mailbox_t call = { 0 };
            if (smp_call(cpu, restore_boot_state_call, &call)) {
                mp_printf(&mp_plat_print, "[CPU %u did not answer the soft reset]\n", cpu);
            }
        }
    }
}

void port_main(void) {
    cpu_local_t *cpu = this_cpu();
    cpu->mpidr = SYSREG_READ(mpidr_el1);
    cpu->online = true;

    uart_init();
    gic_dist_init();
    gic_cpu_init();
    timer_init();
    smp_init_irqs();
    uart_irq_enable();
    irq_enable();
    smp_start_secondaries();

    mp_stack_set_top(__stacks_start + STACK_SIZE);
    mp_stack_set_limit(STACK_SIZE - STACK_MARGIN);
    gc_init(__heap_start, __heap_end);

    for (;;) {
        mp_init();
        readline_init0();
        gc_auto_threshold = MP_STATE_MEM(gc_alloc_threshold);
        gc_pace();
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
        cpu_restore_boot_state();
        aarch64_irq_handlers_reset();
        vcpu_slots_reset();
        gc_sweep_all();
        mp_deinit();
    }
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    soft_timer_gc_mark_all();
    gc_collect_end();
    gc_pace();
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
