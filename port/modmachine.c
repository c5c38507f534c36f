// machine module for this port, included by extmod/modmachine.c.
// mem8/mem16/mem32 are guarded: an access that faults raises aarch64.Fault
// (an OSError) instead of stopping the firmware.
#include "py/mphal.h"
#include "core/cpu.h"
#include "core/exception.h"
#include "core/power.h"
#include "aarch64.h"

typedef struct _machine_gmem_obj_t {
    mp_obj_base_t base;
    unsigned elem_size;
} machine_gmem_obj_t;

static void machine_gmem_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    machine_gmem_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_printf(print, "<%u-bit memory>", 8 * self->elem_size);
}

static mp_obj_t machine_gmem_subscr(mp_obj_t self_in, mp_obj_t index, mp_obj_t value) {
    machine_gmem_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (value == MP_OBJ_NULL) {
        return MP_OBJ_NULL;     // delete: not supported
    }
    uint64_t addr = aarch64_u64_arg(index);
    if (addr & (self->elem_size - 1)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("address 0x%lx is not aligned to %u bytes"),
            (unsigned long)addr, self->elem_size);
    }
    bool store = value != MP_OBJ_SENTINEL;
    uint32_t v = store ? (uint32_t)aarch64_u64_arg(value) : 0;
    cpu_local_t *cpu = this_cpu();
    guard_begin(cpu);
    switch (self->elem_size) {
        case 1:
            if (store) {
                guarded_st8(addr, v);
            } else {
                v = guarded_ld8(addr);
            }
            break;
        case 2:
            if (store) {
                guarded_st16(addr, v);
            } else {
                v = guarded_ld16(addr);
            }
            break;
        default:
            if (store) {
                guarded_st32(addr, v);
            } else {
                v = guarded_ld32(addr);
            }
            break;
    }
    if (guard_end(cpu)) {
        aarch64_raise_fault(cpu->guard_esr, cpu->guard_far, cpu->guard_elr, "%s of %u bits at 0x%lx",
            store ? "write" : "read", 8 * self->elem_size, (unsigned long)addr);
    }
    return store ? mp_const_none : mp_obj_new_int_from_uint(v);
}

static MP_DEFINE_CONST_OBJ_TYPE(
    machine_gmem_type,
    MP_QSTR_mem,
    MP_TYPE_FLAG_NONE,
    print, machine_gmem_print,
    subscr, machine_gmem_subscr
    );

static const machine_gmem_obj_t machine_guarded_mem8_obj = { { &machine_gmem_type }, 1 };
static const machine_gmem_obj_t machine_guarded_mem16_obj = { { &machine_gmem_type }, 2 };
static const machine_gmem_obj_t machine_guarded_mem32_obj = { { &machine_gmem_type }, 4 };

#define MICROPY_PY_MACHINE_EXTRA_GLOBALS \
    { MP_ROM_QSTR(MP_QSTR_mem8), MP_ROM_PTR(&machine_guarded_mem8_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_mem16), MP_ROM_PTR(&machine_guarded_mem16_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_mem32), MP_ROM_PTR(&machine_guarded_mem32_obj) }, \
    { MP_ROM_QSTR(MP_QSTR_Timer), MP_ROM_PTR(&machine_timer_type) }, \

static void mp_machine_idle(void) {
    mp_event_wait_ms(1);
}

static void mp_machine_reset(void) {
    board_reset();
}

// Wait for a new firmware image on the console and start it (aarch64_chainload.c).
NORETURN void mp_machine_bootloader(size_t n_args, const mp_obj_t *args) {
    aarch64_bootloader(n_args, args);
}

static mp_int_t mp_machine_reset_cause(void) {
    return 0;
}
