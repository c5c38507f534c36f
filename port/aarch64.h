// The `aarch64` module's C interface, shared with the port's other modules.
#ifndef PORT_AARCH64_H
#define PORT_AARCH64_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include "py/obj.h"

typedef struct _aarch64_sysreg_t {
    uint32_t enc;
    bool writable;
    qstr name;          // MP_QSTRnull for an encoding the table does not know
    uint64_t owned;     // bits the firmware runs on: a write must keep them
    const char *owned_names;
} aarch64_sysreg_t;

typedef struct _aarch64_irq_handler_obj_t {
    mp_obj_base_t base;
    mp_obj_t callback;  // None: the firmware's host handler only
} aarch64_irq_handler_obj_t;

extern const mp_obj_type_t aarch64_fault_type;
extern const mp_obj_type_t aarch64_irq_handler_type;
extern const mp_obj_type_t aarch64_ramdisk_type;     // ramdisk.c
extern const aarch64_irq_handler_obj_t aarch64_host_irq_handler_obj;

NORETURN void aarch64_raise_timeout(unsigned int cpu);
NORETURN void aarch64_raise_fault(uint64_t esr, uint64_t far, const char *fmt, ...);
unsigned int aarch64_cpu_arg(mp_obj_t cpu_in);
uint64_t aarch64_u64_arg(mp_obj_t value_in);
mp_obj_t aarch64_opt_arg(size_t n_pos, size_t n_pos_max, const mp_obj_t *args, mp_map_t *kw,
    qstr name, mp_rom_error_text_t usage);
void aarch64_sysreg_arg(mp_obj_t reg_in, aarch64_sysreg_t *out);
void aarch64_check_write(const aarch64_sysreg_t *reg, uint64_t value);
uint64_t aarch64_sysreg_access(unsigned int cpu, const aarch64_sysreg_t *reg, bool write, uint64_t value);
bool aarch64_irq_handler_set(unsigned int cpu, mp_obj_t handler);
void aarch64_irq_handlers_reset(void);

#endif
