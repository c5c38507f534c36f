// What the `_vcpu` module's files offer each other.
#ifndef PORT_MODVCPU_H
#define PORT_MODVCPU_H

#include "py/obj.h"

typedef struct _vm_exit_obj_t {
    mp_obj_base_t base;
    uint64_t kind, esr, elr, far, hpfar;
    uint64_t regs[31];
} vm_exit_obj_t;

extern const mp_obj_type_t vm_exit_type;      // vcpu_exit_obj.c
extern const mp_obj_type_t vcpu_core_type;    // vcpu_core_obj.c
mp_obj_t vcpu_regs_tuple(const uint64_t *x);  // x0..x30 as a tuple of ints

#endif
