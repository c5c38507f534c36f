// aarch64.Fault: an OSError (errno EFAULT) carrying ESR_EL2 and FAR_EL2,
// raised by a faulting guarded access, and by an unexpected fault at EL2
// while Python runs (the core resumes at aarch64_fault_resume).
// args = (EFAULT, message, esr, far, elr): elr is the faulting instruction's
// address (0 where the fault was in generated code, a sysreg stub). The
// message names ELR_EL2 so the host tools can name the function (host_tools/symbols.py).
#include <stdio.h>
#include <string.h>

#include "py/mperrno.h"
#include "py/objexcept.h"
#include "py/runtime.h"
#include "core/cpu.h"
#include "core/exception.h"
#include "core/smp.h"
#include "aarch64.h"

static void fault_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    mp_obj_exception_t *self = MP_OBJ_TO_PTR(self_in);
    if ((kind & ~PRINT_EXC_SUBCLASS) == PRINT_REPR) {
        mp_obj_exception_print(print, self_in, kind);
        return;
    }
    if (kind == PRINT_EXC) {
        mp_printf(print, "%q: ", (qstr)self->base.type->name);
    }
    if (self->args->len >= 2) {
        mp_obj_print_helper(print, self->args->items[1], PRINT_STR);
    }
}

static void fault_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    mp_obj_exception_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL && self->args->len == 5) {
        if (attr == MP_QSTR_esr) {
            dest[0] = self->args->items[2];
            return;
        }
        if (attr == MP_QSTR_far) {
            dest[0] = self->args->items[3];
            return;
        }
        if (attr == MP_QSTR_elr) {
            dest[0] = self->args->items[4];
            return;
        }
    }
    mp_obj_exception_attr(self_in, attr, dest);
}

MP_DEFINE_CONST_OBJ_TYPE(
    aarch64_fault_type,
    MP_QSTR_Fault,
    MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, fault_print,
    attr, fault_attr,
    parent, &mp_type_OSError
    );

void aarch64_raise_fault(uint64_t esr, uint64_t far, uint64_t elr, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    uint32_t ec = FIELD_GET(ESR_EL2_EC, esr);
    size_t n = strlen(msg);
    snprintf(msg + n, sizeof(msg) - n, " faulted: ESR_EL2=0x%08lx (EC 0x%02x %s)",
        (unsigned long)esr, (unsigned)ec, exception_class_name(ec));
    n = strlen(msg);
    if (elr != 0) {
        snprintf(msg + n, sizeof(msg) - n, " at ELR_EL2=0x%lx", (unsigned long)elr);
    }
    mp_obj_t args[5] = {
        MP_OBJ_NEW_SMALL_INT(MP_EFAULT),
        mp_obj_new_str(msg, strlen(msg)),
        mp_obj_new_int_from_uint(esr),
        mp_obj_new_int_from_uint(far),
        mp_obj_new_int_from_uint(elr),
    };
    nlr_raise(mp_obj_exception_make_new(&aarch64_fault_type, 5, 0, args));
}

// A cross-call that failed (core/smp.h): -ETIMEDOUT (nothing was done),
// -EINPROGRESS (it may have been done) or -EBUSY.
NORETURN void aarch64_raise_call_error(unsigned int cpu, int error) {
    char msg[160];
    if (error == -MP_EBUSY) {
        snprintf(msg, sizeof(msg), "CPU %u is busy: a call to it (a guest run) is still in progress", cpu);
    } else if (error == -MP_EINPROGRESS) {
        snprintf(msg, sizeof(msg), "CPU %u started the call but did not finish it within %u ms: "
            "it may have taken effect", cpu, SMP_CALL_TIMEOUT_MS + SMP_CALL_FINISH_MS);
    } else {
        snprintf(msg, sizeof(msg), "CPU %u did not answer within %u ms: nothing was done", cpu, SMP_CALL_TIMEOUT_MS);
    }
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(-error), mp_obj_new_str(msg, strlen(msg)) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

// Registered with the core (exception_set_fault_resume): where an unexpected
// fault in Python's thread of execution resumes, so the REPL survives it.
void aarch64_fault_resume(void) {
    cpu_local_t *cpu = this_cpu();
    aarch64_raise_fault(cpu->fault_esr, cpu->fault_far, cpu->fault_elr, "unexpected exception");
}
