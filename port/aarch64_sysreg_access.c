// The write policy and the access itself: what write_sysreg() refuses
// before anything is written, and one access carried out on a CPU with its
// failures turned into Python exceptions. The policy, register by register,
// is sysregs.WRITE_POLICY (firmware/sysregs.py) and the README's Reliability.
#include "py/runtime.h"
#include "core/cpu.h"
#include "core/sysreg.h"
#include "aarch64.h"

#define ENC_VBAR_EL2 SYSREG_ENC(3, 4, 12, 0, 0)
#define ENC_HCR_EL2 SYSREG_ENC(3, 4, 1, 1, 0)
#define VECTOR_TABLE_ALIGN_MASK 0x7ff   // VBAR_EL2[10:0] are RES0: 2 KiB alignment

// Check a write before it is carried out: nothing is written when this
// raises. Besides type and range (checked by the caller): read-only
// registers, encodings the table does not know whose writes could wedge
// the firmware, and VBAR_EL2 (aligned, and one of the firmware's two
// tables, which the firmware itself takes its exceptions through). What
// depends on the CPU's state (the bits the firmware runs on,
// sysregs.FIRMWARE_OWNED; VBAR_EL2 and HCR_EL2.VM together) is checked by
// the access itself, on its CPU.
void aarch64_check_write(const aarch64_sysreg_t *reg, uint64_t value) {
    if (!reg->writable) {
        if (reg->unwritable_why != NULL) {
            char name[32];
            aarch64_describe_reg(name, sizeof(name), reg);
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s is read-only by encoding: %s"),
                name, reg->unwritable_why);
        }
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q is read-only"), reg->name);
    }
    if (reg->enc == ENC_VBAR_EL2) {
        if (value & VECTOR_TABLE_ALIGN_MASK) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("VBAR_EL2 must be 2 KiB aligned, got 0x%lx"), (unsigned long)value);
        }
        if (value != (uintptr_t)host_exception_vectors && value != (uintptr_t)exception_vector_base_vcpu) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("VBAR_EL2 may hold HOST_VECTORS (0x%lx) or VCPU_VECTORS (0x%lx), not 0x%lx"),
                (unsigned long)(uintptr_t)host_exception_vectors,
                (unsigned long)(uintptr_t)exception_vector_base_vcpu, (unsigned long)value);
        }
    }
}

// The rules that tie VBAR_EL2 and HCR_EL2.VM together, checked on the
// target CPU with IRQs masked just before the write (core/sysreg.h). With
// VM set the CPU may run a guest, whose exits are taken through VBAR_EL2:
// only the vCPU table handles them (on the host table a guest's exit halts
// the CPU). And a guest can only be entered in AArch64 (RW) at EL1, which
// TGE disables.
enum {
    REFUSED_VM_WITHOUT_RW = SYSREG_REFUSED_KEPT + 1,
    REFUSED_VM_WITH_TGE,
    REFUSED_VM_ON_HOST_VECTORS,
    REFUSED_HOST_VECTORS_WITH_VM,
};

int aarch64_sysreg_write_check(uint32_t enc, uint64_t value) {
    if (enc == ENC_HCR_EL2 && (value & HCR_EL2_VM)) {
        if (!(value & HCR_EL2_RW)) {
            return REFUSED_VM_WITHOUT_RW;
        }
        if (value & HCR_EL2_TGE) {
            return REFUSED_VM_WITH_TGE;
        }
        if (SYSREG_READ(vbar_el2) != (uintptr_t)exception_vector_base_vcpu) {
            return REFUSED_VM_ON_HOST_VECTORS;
        }
    }
    if (enc == ENC_VBAR_EL2 && value != (uintptr_t)exception_vector_base_vcpu && (SYSREG_READ(hcr_el2) & HCR_EL2_VM)) {
        return REFUSED_HOST_VECTORS_WITH_VM;
    }
    return 0;
}

static NORETURN void raise_refused(unsigned int cpu, const aarch64_sysreg_t *reg, int why, uint64_t current, uint64_t value) {
    uint64_t changed = (current ^ value) & reg->owned;
    switch (why) {
        case SYSREG_REFUSED_KEPT:
            if (!(changed & reg->owned_named)) {
                // Bits outside the named owned fields, in a register of which
                // only some fields may change.
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("%q bits 0x%lx are the firmware's own (only %s may change): write them unchanged"),
                    reg->name, (unsigned long)changed, reg->writable_names);
            }
            break;
        case REFUSED_VM_WITHOUT_RW:
            mp_raise_msg(&mp_type_ValueError,
                MP_ERROR_TEXT("HCR_EL2.VM needs RW set: a guest runs in AArch64 (an AArch32 EL1 cannot be entered)"));
        case REFUSED_VM_WITH_TGE:
            mp_raise_msg(&mp_type_ValueError,
                MP_ERROR_TEXT("HCR_EL2.VM needs TGE clear: with TGE set a guest's EL1 cannot be entered"));
        case REFUSED_VM_ON_HOST_VECTORS:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("HCR_EL2.VM on CPU %u needs VBAR_EL2 = VCPU_VECTORS first: a guest's exits are taken "
                    "there (pcpu's hardware_enable() does both)"), cpu);
        default:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("VBAR_EL2 on CPU %u must stay VCPU_VECTORS while HCR_EL2.VM is set: a guest's exits "
                    "are taken there (pcpu's hardware_disable() clears VM first)"), cpu);
    }
    mp_raise_msg_varg(&mp_type_ValueError,
        MP_ERROR_TEXT("%q bits 0x%lx (%s) are the firmware's own: write them unchanged"),
        reg->name, (unsigned long)(changed & reg->owned_named), reg->owned_names);
}

// Carry out one access on `cpu`: aarch64.Fault if it faulted, ValueError if
// a write was refused there (nothing written), OSError if the CPU did not
// answer (its errno says whether the access may have happened).
uint64_t aarch64_sysreg_access(unsigned int cpu, const aarch64_sysreg_t *reg, bool write, uint64_t value) {
    sysreg_result_t r = sysreg_access_on(cpu, reg->enc, write, value, write ? reg->owned : 0);
    if (r.error) {
        aarch64_raise_call_error(cpu, r.error);
    }
    if (r.refused) {
        raise_refused(cpu, reg, r.refused, r.value, value);
    }
    if (r.faulted) {
        char name[32];
        aarch64_describe_reg(name, sizeof(name), reg);
        aarch64_raise_fault(r.esr, 0, 0, "%s of %s on CPU %u", write ? "write" : "read", name, cpu);
    }
    return r.value;
}

// read_sysreg(name, cpu=None), write_sysreg(name, value, cpu=None)
static mp_obj_t aarch64_read_sysreg(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("read_sysreg(name, cpu=None)"));
    }
    aarch64_sysreg_t reg;
    aarch64_sysreg_arg(args[0], &reg);
    unsigned int cpu = aarch64_cpu_arg(aarch64_cpu_kw(n_args, 2, args, kw));
    return mp_obj_new_int_from_uint(aarch64_sysreg_access(cpu, &reg, false, 0));
}
MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_read_sysreg_obj, 1, aarch64_read_sysreg);

static mp_obj_t aarch64_write_sysreg(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 3) {
        mp_raise_TypeError(MP_ERROR_TEXT("write_sysreg(name, value, cpu=None)"));
    }
    if (n_args < 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("write_sysreg needs a register and a value"));
    }
    aarch64_sysreg_t reg;
    aarch64_sysreg_arg(args[0], &reg);
    uint64_t value = aarch64_u64_arg(args[1]);
    unsigned int cpu = aarch64_cpu_arg(aarch64_cpu_kw(n_args, 3, args, kw));
    aarch64_check_write(&reg, value);
    aarch64_sysreg_access(cpu, &reg, true, value);
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_write_sysreg_obj, 2, aarch64_write_sysreg);
