// System-register access by encoding, on the current CPU, with faults caught.
#ifndef PORT_SYSREG_H
#define PORT_SYSREG_H

#include <stdbool.h>
#include <stdint.h>

// Encoding of a register in MRS/MSR bits [19:5]: op0[0], op1, CRn, CRm, op2.
#define SYSREG_ENC(op0, op1, crn, crm, op2) \
    ((((op0) & 1) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))

typedef struct _sysreg_result_t {
    int error;          // 0, or -ETIMEDOUT / -EBUSY from the cross-call (core/smp.h)
    bool faulted;
    bool refused;       // a write that would have changed a kept bit: nothing written
    uint64_t value;     // the value read (reads; for a refused write, the current value)
    uint64_t esr;       // ESR_EL2 of the fault
} sysreg_result_t;

sysreg_result_t sysreg_read_enc(uint32_t enc);
sysreg_result_t sysreg_write_enc(uint32_t enc, uint64_t value);

// The access carried out on `cpu` (the current CPU, or another through a
// cross-call). A write with `keep` non-zero is checked there first, against
// the register's value at that moment: one that would change a bit of `keep`
// is refused and writes nothing.
sysreg_result_t sysreg_access_on(unsigned int cpu, uint32_t enc, bool write, uint64_t value, uint64_t keep);

#endif
