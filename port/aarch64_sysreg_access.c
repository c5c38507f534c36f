// aarch64.read_sysreg/write_sysreg: the write policy (what write_sysreg()
// refuses before anything is written) and one access carried out on a CPU
// with its failures turned into Python exceptions.
#include "py/runtime.h"
#include "core/cpu.h"
#include "core/sysreg.h"
#include "aarch64.h"

#define ENC_VBAR_EL2 SYSREG_ENC(3, 4, 12, 0, 0)
#define VECTOR_TABLE_ALIGN_MASK 0x7ff   // VBAR_EL2[10:0] are RES0: 2 KiB alignment

// Check a write before it is carried out: nothing is written when this
// raises. Besides type and range (checked by the caller): read-only registers
// and VBAR_EL2 (aligned, and one of the firmware's two tables, which the
// firmware itself takes its exceptions through). The bits the firmware runs
// on (sysregs.FIRMWARE_OWNED) are checked by the access itself, on its CPU.
void aarch64_check_write(const aarch64_sysreg_t *reg, uint64_t value) {
    if (!reg->writable) {
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

// Carry out one access on `cpu`: aarch64.Fault if it faulted, ValueError if
// a write would have changed bits the firmware runs on.
uint64_t aarch64_sysreg_access(unsigned int cpu, const aarch64_sysreg_t *reg, bool write, uint64_t value) {
    sysreg_result_t r = sysreg_access_on(cpu, reg->enc, write, value, write ? reg->owned : 0);
    if (r.error) {
        aarch64_raise_call_error(cpu, r.error);
    }
    if (r.refused) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q bits 0x%lx (%s) are the firmware's own: write them unchanged"),
            reg->name, (unsigned long)((r.value ^ value) & reg->owned), reg->owned_names);
    }
    if (r.faulted) {
        char name[32];
        aarch64_describe_reg(name, sizeof(name), reg);
        aarch64_raise_fault(r.esr, 0, "%s of %s on CPU %u", write ? "write" : "read", name, cpu);
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
