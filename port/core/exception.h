// Exceptions taken at EL2: fault reports, guarded accesses, the IRQ entries
// of both vector tables, and exception-class names.
#ifndef CORE_EXCEPTION_H
#define CORE_EXCEPTION_H

#include <stdbool.h>
#include "py/qstr.h"
#include "cpu.h"

const char *exception_class_name(uint32_t ec);
qstr exception_class_qstr(uint32_t ec);     // the same name as a qstr

// An unexpected synchronous fault on CPU 0 while Python runs (not inside a
// guarded access) resumes at the function registered here, with IRQs on and
// the fault's ESR, FAR and ELR in this CPU's fault_esr/fault_far/fault_elr;
// the MicroPython layer registers one that raises a Python exception. With
// none registered, or on another CPU, the fault is reported and the CPU halts.
void exception_set_fault_resume(void (*resume)(void));

// Guarded access: faults of guarded instructions between guard_begin() and
// guard_end() are recorded in cpu->guard_esr/guard_far instead of reported.
static inline void guard_begin(cpu_local_t *cpu) {
    cpu->guard_faulted = false;
    cpu->guard_active = true;
    __asm__ volatile ("" ::: "memory");
}
bool guard_end(cpu_local_t *cpu);   // true if the access faulted

// boot/guarded.S
uint32_t guarded_ld8(uintptr_t addr);
uint32_t guarded_ld16(uintptr_t addr);
uint32_t guarded_ld32(uintptr_t addr);
uint64_t guarded_ld64(uintptr_t addr);
void guarded_st8(uintptr_t addr, uint32_t v);
void guarded_st16(uintptr_t addr, uint32_t v);
void guarded_st32(uintptr_t addr, uint32_t v);
void guarded_st64(uintptr_t addr, uint64_t v);

// Entry points called from boot/vectors.S with the trap frame and the kind
// (EXC_FROM_* + EXC_*). vm_exit() is the vCPU core's (core/vcpu.c).
void el2_sync_exception(trap_frame_t *frame, uint64_t kind);
void invalid_exception(trap_frame_t *frame, uint64_t kind);
void host_irq_entry(trap_frame_t *frame, uint64_t kind);
void vcpu_irq_entry(trap_frame_t *frame, uint64_t kind);
void vm_exit(trap_frame_t *frame, uint64_t kind);

#endif
