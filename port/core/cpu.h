// CPU-local data (one cpu_local_t per CPU) and small AArch64 helpers shared
// by the core and the modules above it. MAX_CPUS comes from the board's
// mpconfigboard.mk (passed by port/Makefile to the compiler and the linker).
#ifndef CORE_CPU_H
#define CORE_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mpconfigboard.h"
#include "el2_defs.h"
#include "smp.h"

#ifndef MAX_CPUS
#error "MAX_CPUS comes from the board's mpconfigboard.mk"
#endif

#define SYSREG_READ(name) ({ uint64_t v_; __asm__ volatile ("mrs %0, " #name : "=r" (v_)); v_; })
#define SYSREG_WRITE(name, v) __asm__ volatile ("msr " #name ", %0" :: "r" ((uint64_t)(v)) : "memory")

static inline void isb(void) { __asm__ volatile ("isb" ::: "memory"); }
static inline void dsb_sy(void) { __asm__ volatile ("dsb sy" ::: "memory"); }

// IRQ masking at EL2 (PSTATE.I).
static inline uint64_t irq_save(void) {
    uint64_t daif = SYSREG_READ(daif);
    __asm__ volatile ("msr daifset, #2" ::: "memory");
    return daif;
}
static inline void irq_restore(uint64_t daif) { SYSREG_WRITE(daif, daif); }
static inline void irq_enable(void) { __asm__ volatile ("msr daifclr, #2" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile ("msr daifset, #2" ::: "memory"); }

// The exception trap frame saved by boot/vectors.S.
typedef struct _trap_frame_t {
    uint64_t x[31];
    uint64_t sp_el0;
    uint64_t elr;
    uint64_t spsr;
} trap_frame_t;
_Static_assert(offsetof(trap_frame_t, x[30]) == FRAME_X(30), "trap frame x30");
_Static_assert(offsetof(trap_frame_t, sp_el0) == FRAME_SP_EL0, "trap frame SP_EL0");
_Static_assert(offsetof(trap_frame_t, elr) == FRAME_ELR, "trap frame ELR_EL2");
_Static_assert(offsetof(trap_frame_t, spsr) == FRAME_SPSR, "trap frame SPSR_EL2");
_Static_assert(sizeof(trap_frame_t) == FRAME_SIZE, "trap frame size");

// The FP/SIMD registers boot/vectors.S keeps beside the frame (C never reads them).
typedef struct _fp_frame_t {
    __uint128_t q[FPFRAME_QREGS];
    uint64_t fpcr, fpsr;
} fp_frame_t;
_Static_assert(offsetof(fp_frame_t, fpcr) == FPFRAME_FPCR, "FP frame FPCR");
_Static_assert(sizeof(fp_frame_t) == FPFRAME_SIZE, "FP frame size");

typedef void (*irq_handler_fn_t)(void);

// One per CPU, indexed by the logical CPU id (MPIDR.Aff0 on both boards).
typedef struct _cpu_local_t {
    volatile bool online;
    uint64_t mpidr;

    // Guarded access: a fault while `guard_active` at a guarded instruction
    // is recorded here instead of being reported.
    volatile bool guard_active;
    volatile bool guard_faulted;
    volatile uint64_t guard_esr;
    volatile uint64_t guard_far;
    volatile uint64_t guard_elr;    // the faulting instruction (aarch64.Fault.elr)
    uint64_t fault_esr, fault_far, fault_elr;   // an unguarded fault turned into a Python exception

    // IRQ_HANDLER: set once, called by exception_vector_base_vcpu for IRQs
    // taken at EL2. irq_handler_obj is the object of whoever registered it
    // (the aarch64 module's IrqHandler), kept here so it lives exactly as long
    // as the slot; the garbage collector scans it (gccollect.c).
    irq_handler_fn_t irq_handler;
    void *irq_handler_obj;
    volatile uint64_t irq_count;            // IRQs that went through irq_handler
    volatile uint64_t irq_total;            // every IRQ this CPU took
    volatile uint64_t irq_no_handler;       // IRQs on the vCPU vectors with no IRQ_HANDLER set
    volatile uint32_t irq_depth;            // > 0 while in an IRQ handler

    smp_mailbox_t mailbox;                  // cross-calls from CPU 0
    uint64_t call_stall_ticks;              // test aid: stall inside the next call served (smp.h)
    struct _vcpu_ctx_t *current_vcpu;       // the guest running on this CPU, if any
    int vcpu_exit_kind;
    struct _vcpu_ctx_t *vm_vcpu;            // the VM vCPU this CPU runs for CPU 0 (core/vm.c)
    volatile uint64_t timer_period;         // per-CPU EL2 timer tick period (counter ticks), 0 = off
    volatile uint64_t timer_ticks;
    // The EL2 physical timer serves two deadlines (counter values, 0 = none):
    // the host's next event (soft timers on CPU 0, ticks elsewhere) and the
    // end of a guest run. Changed only on this CPU with IRQs masked.
    uint64_t el2_event_deadline;
    uint64_t el2_guest_deadline;

    // Generated `mrs`/`msr` instructions for register access by encoding;
    // the last encoding is remembered so repeated accesses skip the rewrite.
    uint32_t sysreg_read_stub[2] __attribute__((aligned(64)));
    uint32_t sysreg_write_stub[3];
} cpu_local_t;

extern cpu_local_t cpu_local[MAX_CPUS];

static inline unsigned int cpu_index(void) {
    return FIELD_GET(MPIDR_EL1_AFF0, SYSREG_READ(mpidr_el1));
}

static inline cpu_local_t *this_cpu(void) {
    return &cpu_local[cpu_index()];
}

unsigned int cpu_online_count(void);

// This CPU comes online (boot CPU and secondaries).
void cpu_local_online(void);

// Fill a CPU's IRQ_HANDLER slot once: false if it was already set.
bool cpu_irq_handler_set(unsigned int cpu, irq_handler_fn_t fn, void *obj);

// Every CPU's EL2 state back to its boot values, its IRQ_HANDLER slot
// emptied and its timer ticks stopped (soft reset); says which CPU did not answer.
void cpu_restore_boot_state_all(void);

extern char host_exception_vectors[];
extern char exception_vector_base_vcpu[];
extern char __guarded_start[], __guarded_end[];
extern char __heap_start[], __heap_end[];
extern char __stacks_start[], __stacks_end[];

void halt(void) __attribute__((noreturn));

#endif
