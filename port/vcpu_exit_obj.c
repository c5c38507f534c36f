// _vcpu.VmExit: one VM exit, built in C because Python meets one per exit.
// The fields are raw; kind, ec, ec_name, iss and ipa are derived when read.
#include "py/runtime.h"
#include "core/exception.h"
#include "core/vcpu.h"
#include "modvcpu.h"

// x0..x30 as a tuple of ints.
mp_obj_t vcpu_regs_tuple(const uint64_t *x) {
    mp_obj_t t[31];
    for (int i = 0; i < 31; ++i) {
        t[i] = mp_obj_new_int_from_uint(x[i]);
    }
    return mp_obj_new_tuple(31, t);
}

static const qstr exit_kind_names[] = { MP_QSTR_sync, MP_QSTR_irq, MP_QSTR_timeout };

static bool exit_is_sync(const vm_exit_obj_t *e) {
    return e->kind == VCPU_EXIT_SYNC;
}

static uint32_t exit_ec(const vm_exit_obj_t *e) {
    return FIELD_GET(ESR_EL2_EC, e->esr);
}

static bool exit_has_ipa(const vm_exit_obj_t *e) {
    return exit_is_sync(e) && (exit_ec(e) == EC_IABT_LOWER || exit_ec(e) == EC_DABT_LOWER);
}

static uint64_t exit_ipa(const vm_exit_obj_t *e) {
    // HPFAR_EL2.FIPA holds IPA[47:12] in bits [43:4]; the page offset is FAR's.
    return ((e->hpfar >> 4) << 12) | (e->far & 0xfff);
}

static void vm_exit_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    vm_exit_obj_t *e = MP_OBJ_TO_PTR(self_in);
    if (!exit_is_sync(e)) {
        mp_printf(print, "<VmExit %q ELR=0x%lx>", exit_kind_names[e->kind], (unsigned long)e->elr);
        return;
    }
    mp_printf(print, "<VmExit sync EC=0x%02x %q ISS=0x%lx ELR=0x%lx", (unsigned)exit_ec(e),
        exception_class_qstr(exit_ec(e)), (unsigned long)FIELD_GET(ESR_EL2_ISS, e->esr), (unsigned long)e->elr);
    if (exit_has_ipa(e)) {
        mp_printf(print, " IPA=0x%lx FAR=0x%lx", (unsigned long)exit_ipa(e), (unsigned long)e->far);
    }
    mp_printf(print, ">");
}

static void vm_exit_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return;     // read-only
    }
    vm_exit_obj_t *e = MP_OBJ_TO_PTR(self_in);
    bool sync = exit_is_sync(e);
    switch (attr) {
        case MP_QSTR_kind:
            dest[0] = MP_OBJ_NEW_QSTR(exit_kind_names[e->kind]);
            break;
        case MP_QSTR_esr:
            dest[0] = mp_obj_new_int_from_uint(e->esr);
            break;
        case MP_QSTR_elr:
            dest[0] = mp_obj_new_int_from_uint(e->elr);
            break;
        case MP_QSTR_far:
            dest[0] = mp_obj_new_int_from_uint(e->far);
            break;
        case MP_QSTR_hpfar:
            dest[0] = mp_obj_new_int_from_uint(e->hpfar);
            break;
        case MP_QSTR_ec:
            dest[0] = sync ? MP_OBJ_NEW_SMALL_INT(exit_ec(e)) : mp_const_none;
            break;
        case MP_QSTR_ec_name:
            dest[0] = sync ? MP_OBJ_NEW_QSTR(exception_class_qstr(exit_ec(e))) : mp_const_none;
            break;
        case MP_QSTR_iss:
            dest[0] = mp_obj_new_int_from_uint(FIELD_GET(ESR_EL2_ISS, e->esr));
            break;
        case MP_QSTR_ipa:
            dest[0] = exit_has_ipa(e) ? mp_obj_new_int_from_uint(exit_ipa(e)) : mp_const_none;
            break;
        case MP_QSTR_regs:
            dest[0] = vcpu_regs_tuple(e->regs);
            break;
    }
}

MP_DEFINE_CONST_OBJ_TYPE(
    vm_exit_type,
    MP_QSTR_VmExit,
    MP_TYPE_FLAG_NONE,
    print, vm_exit_print,
    attr, vm_exit_attr
    );
