#ifndef PORT_EXCEPTION_H
#define PORT_EXCEPTION_H

#include <stdbool.h>
#include "py/qstr.h"
#include "cpu.h"

const char *exception_class_name(uint32_t ec);
qstr exception_class_qstr(uint32_t ec);     // the same name as a qstr

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

#endif
