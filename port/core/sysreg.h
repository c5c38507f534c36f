// System-register access by encoding, on the current CPU, with faults caught.
#ifndef PORT_SYSREG_H
#define PORT_SYSREG_H

#include <stdbool.h>
#include <stdint.h>

// Encoding of a register in MRS/MSR bits [19:5]: op0[0], op1, CRn, CRm, op2.
#define SYSREG_ENC(op0, op1, crn, crm, op2) \
    ((((op0) & 1) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))

// Why a write was refused (nothing written): a kept bit would have changed,
// or the code the write check returned (> SYSREG_REFUSED_KEPT).
#define SYSREG_REFUSED_KEPT 1

typedef struct _sysreg_result_t {
    int error;          // 0, or -ETIMEDOUT / -EINPROGRESS / -EBUSY from the cross-call (core/smp.h)
    bool faulted;
    int refused;        // 0, SYSREG_REFUSED_KEPT, or the write check's code: nothing written
    uint64_t value;     // the value read (reads; for a refused write, the current value)
    uint64_t esr;       // ESR_EL2 of the fault
} sysreg_result_t;

sysreg_result_t sysreg_read_enc(uint32_t enc);
sysreg_result_t sysreg_write_enc(uint32_t enc, uint64_t value);

// The access carried out on `cpu` (the current CPU, or another through a
// cross-call). A write is checked there first, at that moment, with IRQs
// masked: with `keep` non-zero against the register's value (one that would
// change a bit of `keep` is refused), then by the write check registered
// below. A refused write writes nothing.
sysreg_result_t sysreg_access_on(unsigned int cpu, uint32_t enc, bool write, uint64_t value, uint64_t keep);

// The layer above's rules that depend on the CPU's state (e.g. which vector
// table a register value needs): called on the target CPU before a write,
// returns 0 to allow it or a code > SYSREG_REFUSED_KEPT to refuse it.
typedef int (*sysreg_write_check_t)(uint32_t enc, uint64_t value);
void sysreg_set_write_check(sysreg_write_check_t check);

#endif
