// What the `aarch64` module's files offer each other and the port's other
// modules (_vcpu, machine): the Fault exception, argument parsers, register
// arguments and accesses, and the IRQ_HANDLER objects.
#ifndef PORT_AARCH64_H
#define PORT_AARCH64_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include "py/obj.h"
#include "py/runtime.h"
#include "core/cpu.h"

// aarch64_fault.c
extern const mp_obj_type_t aarch64_fault_type;
NORETURN void aarch64_raise_call_error(unsigned int cpu, int error);   // -ETIMEDOUT, -EBUSY
NORETURN void aarch64_raise_fault(uint64_t esr, uint64_t far, uint64_t elr, const char *fmt, ...);
void aarch64_fault_resume(void);    // registered with the core by main.c

// aarch64_args.c. The two that run on every register access are inline here
// (their error reports are not): each module function calls them.
uint64_t aarch64_u64_arg(mp_obj_t value_in);
mp_obj_t aarch64_opt_arg(size_t n_pos, size_t n_pos_max, const mp_obj_t *args, mp_map_t *kw,
    qstr name, mp_rom_error_text_t usage);
NORETURN void aarch64_raise_bad_cpu(mp_obj_t cpu_in);

// A CPU argument: None (the current CPU) or an online CPU's id.
static inline unsigned int aarch64_cpu_arg(mp_obj_t cpu_in) {
    if (cpu_in == mp_const_none) {
        return cpu_index();
    }
    if (mp_obj_is_small_int(cpu_in)) {
        mp_int_t cpu = MP_OBJ_SMALL_INT_VALUE(cpu_in);
        if (cpu >= 0 && cpu < MAX_CPUS && cpu_local[cpu].online) {
            return cpu;
        }
    }
    aarch64_raise_bad_cpu(cpu_in);
}

// The optional cpu= of f(..., cpu=None), positional or by keyword.
static inline mp_obj_t aarch64_cpu_kw(size_t n_pos, size_t n_pos_max, const mp_obj_t *args, mp_map_t *kw) {
    if (kw->used == 0) {
        return n_pos > n_pos_max - 1 ? args[n_pos_max - 1] : mp_const_none;
    }
    return aarch64_opt_arg(n_pos, n_pos_max, args, kw, MP_QSTR_cpu,
        MP_ERROR_TEXT("unexpected keyword argument (only cpu=)"));
}

// aarch64_sysreg_name.c, aarch64_sysreg_access.c
typedef struct _aarch64_sysreg_t {
    uint32_t enc;
    bool writable;
    qstr name;          // MP_QSTRnull for an encoding the table does not know
    uint64_t owned;     // bits the firmware runs on: a write must keep them
    uint64_t owned_named;   // those of them in the fields owned_names names
    const char *owned_names;
    const char *writable_names;     // where only some fields may change: those
    const char *unwritable_why;     // an unknown encoding whose writes are refused: why
} aarch64_sysreg_t;

void aarch64_sysreg_arg(mp_obj_t reg_in, aarch64_sysreg_t *out);
void aarch64_describe_reg(char *buf, size_t len, const aarch64_sysreg_t *reg);
void aarch64_check_write(const aarch64_sysreg_t *reg, uint64_t value);
uint64_t aarch64_sysreg_access(unsigned int cpu, const aarch64_sysreg_t *reg, bool write, uint64_t value);
MP_DECLARE_CONST_FUN_OBJ_KW(aarch64_read_sysreg_obj);
MP_DECLARE_CONST_FUN_OBJ_KW(aarch64_write_sysreg_obj);
int aarch64_sysreg_write_check(uint32_t enc, uint64_t value);     // registered with the core by main.c

// aarch64_irq_handler.c
typedef struct _aarch64_irq_handler_obj_t {
    mp_obj_base_t base;
    mp_obj_t callback;  // None: the firmware's host handler only
} aarch64_irq_handler_obj_t;

extern const mp_obj_type_t aarch64_irq_handler_type;
extern const aarch64_irq_handler_obj_t aarch64_host_irq_handler_obj;
bool aarch64_irq_handler_set(unsigned int cpu, mp_obj_t handler);
MP_DECLARE_CONST_FUN_OBJ_KW(aarch64_set_irq_handler_obj);
MP_DECLARE_CONST_FUN_OBJ_KW(aarch64_get_irq_handler_obj);
MP_DECLARE_CONST_FUN_OBJ_KW(aarch64_irq_counts_obj);

// aarch64_cpu_timer.c
MP_DECLARE_CONST_FUN_OBJ_2(aarch64_cpu_timer_obj);
MP_DECLARE_CONST_FUN_OBJ_KW(aarch64_stall_cpu_obj);

// aarch64_receive.c
MP_DECLARE_CONST_FUN_OBJ_VAR_BETWEEN(aarch64_receive_obj);
MP_DECLARE_CONST_FUN_OBJ_0(aarch64_virtio_console_obj);
// The same transfer from C: `size` bytes at `pa`, raising as aarch64.receive does.
void aarch64_receive_into(uint64_t pa, uint64_t size, uint32_t crc32, uint64_t block, mp_int_t timeout_ms, bool framed,
    int channel);
// A transfer's header of `len` bytes starting with `magic` (see aarch64_receive.c).
bool aarch64_receive_header(const uint8_t *magic, size_t magic_len, uint8_t *out, size_t len, mp_int_t wait_ms);
// aarch64_uart_baud.c: the console's line rate, switched with a handshake.
MP_DECLARE_CONST_FUN_OBJ_VAR_BETWEEN(aarch64_uart_baud_obj);
MP_DECLARE_CONST_FUN_OBJ_0(aarch64_uart_baud_log_obj);
// aarch64_chainload.c: machine.bootloader().
NORETURN void aarch64_bootloader(size_t n_args, const mp_obj_t *args);

// ramdisk.c
extern const mp_obj_type_t aarch64_ramdisk_type;
// sdcard.c: boards with an SD host controller (BOARD_SDHCI_BASE)
extern const mp_obj_type_t aarch64_sdcard_type;
// flash_cfi.c: the board's CFI flash bank, where it has one (BOARD_FLASH_BASE).
extern const mp_obj_type_t aarch64_flash_type;

#endif
