// The vCPU core: an EL1 AArch64 guest behind stage 2, entered and left on
// the CPU it belongs to. VCPU_MAX and VCPU_GUEST_RAM_SIZE (the guest-RAM
// slots boot/link.ld reserves) come from port/Makefile.
#ifndef CORE_VCPU_H
#define CORE_VCPU_H

#include "el2_defs.h"

#if !defined(VCPU_MAX) || !defined(VCPU_GUEST_RAM_SIZE)
#error "VCPU_MAX and VCPU_GUEST_RAM_SIZE come from port/Makefile"
#endif
#define VCPU_GUEST_IPA          0x40000000UL    // guest RAM and entry point
#define VCPU_GUEST_STACK_TOP    (VCPU_GUEST_IPA + 0x10000)
#define VCPU_GUEST_LOADED_SIZE  0x10000UL       // code and stack: what the host writes and cleans
#define VCPU_NULL_HVC           0x4e55          // HVC #0x4e55 ("NU") is answered in C

// Exit kinds (returned by vcpu_run_local)
#define VCPU_EXIT_SYNC      0   // trap from the guest: see ESR
#define VCPU_EXIT_IRQ       1   // physical IRQ while the guest ran
#define VCPU_EXIT_TIMEOUT   2   // the run's deadline passed
#define VCPU_EXIT_DISABLED  3   // HCR_EL2.VM is clear on that CPU: not run

// HCR_EL2 bits a vCPU runs with, set on entry on top of the host's value
// (which comes back on exit): see vcpu_run_local.
#define VCPU_HCR_EL2    (HCR_EL2_VM | HCR_EL2_RW | HCR_EL2_TSC | HCR_EL2_IMO | HCR_EL2_FMO)

// Offsets used by boot/vcpu_switch.S, checked against vcpu_ctx_t in core/vcpu.c.
#define VCPU_FRAME          0                   // trap_frame_t, FRAME_SIZE
#define VCPU_HOST           FRAME_SIZE          // x19..x30, sp, daif (14 x 8)
#define VCPU_HOST_FP        (VCPU_HOST + 14 * 8)    // d8..d15, fpcr, fpsr
#define VCPU_HOST_FPCR      (8 * 8)                 // within host_fp
#define VCPU_GUEST_FP       (VCPU_HOST_FP + 10 * 8) // q0..q31, fpcr, fpsr
#define VCPU_FP_FPCR        (32 * 16)               // fpcr, fpsr after q0..q31

#ifndef __ASSEMBLY__
#include <stddef.h>
#include <stdint.h>
#include "cpu.h"

// Every EL1 and EL0 register a guest can read or write, plus the EL2 ones
// that say what it sees as its identity: its context, switched on every entry
// and exit (as arm_vcpu's context_frame.rs). X(register, reset value); the
// reset value is what a new vCPU starts with. Debug and PMU registers are
// not in it: MDCR_EL2 traps the guest's accesses to them (EC 0x18).
#define VCPU_EL1_CONTEXT(X) \
    X(sctlr_el1, SCTLR_EL1_RES1)        /* MMU and caches off */ \
    X(cpacr_el1, 0)                     /* FP/SIMD traps to the guest's EL1 until it enables it */ \
    X(ttbr0_el1, 0) \
    X(ttbr1_el1, 0) \
    X(tcr_el1, 0) \
    X(mair_el1, 0) \
    X(amair_el1, 0) \
    X(vbar_el1, 0) \
    X(esr_el1, 0) \
    X(far_el1, 0) \
    X(afsr0_el1, 0) \
    X(afsr1_el1, 0) \
    X(par_el1, 0) \
    X(contextidr_el1, 0) \
    X(csselr_el1, 0) \
    X(tpidr_el0, 0) \
    X(tpidr_el1, 0) \
    X(tpidrro_el0, 0) \
    X(sp_el1, VCPU_GUEST_STACK_TOP) \
    X(elr_el1, 0) \
    X(spsr_el1, SPSR_EL1H_MASKED) \
    X(cntkctl_el1, 0) \
    X(cntp_cval_el0, 0) \
    X(cntp_ctl_el0, 0)                  /* the guest's timers: off */ \
    X(cntv_cval_el0, 0) \
    X(cntv_ctl_el0, 0) \
    X(vmpidr_el2, 0)                    /* set from the vCPU's CPU: what MPIDR_EL1 reads */ \
    X(vpidr_el2, 0)                     /* set from the host's MIDR_EL1 */

#define VCPU_CONTEXT_FIELD(reg, reset) uint64_t reg;

typedef struct _vcpu_el1_context_t {
    VCPU_EL1_CONTEXT(VCPU_CONTEXT_FIELD)
} vcpu_el1_context_t;

typedef struct _vcpu_ctx_t {
    trap_frame_t frame;                 // the guest's x0..x30, SP_EL0, ELR_EL2 (pc), SPSR_EL2
    uint64_t host[14];
    uint64_t host_fp[10];               // d8..d15, FPCR, FPSR: restored on every exit
    uint64_t guest_fp[66] __attribute__((aligned(16)));
    vcpu_el1_context_t el1;             // the guest's EL1/EL0 registers, kept across runs
    volatile bool running;              // entered and not yet back
    // Stage 2
    uint64_t vttbr;
    int slot;
    unsigned int cpu;
    bool tlb_fresh;
    // The last exit
    uint64_t esr, far, hpfar;
    uint64_t exits, null_hvcs;
    uint64_t vtcr;                      // VTCR_EL2 for its stage 2
    uint64_t cntvoff;                   // CNTVOFF_EL2: the same on every vCPU of a VM
    uint64_t hcr;                       // HCR_EL2 its last entry ran it with
    // In a VM (core/vm.h); NULL for a lone vCPU
    struct _vm_t *vm;
    unsigned int index;                 // vCPU number in the VM
    volatile uint32_t run_state;        // VM_RUN_*
    volatile bool stop_req;             // CPU 0 asks the runner to stop
    volatile bool spinning;             // the runner waits in WFE for CPU 0's answer
    uint32_t vm_exit;                   // VM_EXIT_* of the last exit to CPU 0
    uint64_t exit_args[4];
    uint8_t mmio_srt, mmio_size;        // the MMIO load waiting for its value
    bool mmio_sse, mmio_sf;
} vcpu_ctx_t;

int vcpu_slot_alloc(void);
void vcpu_slot_free(int slot);
void vcpu_slots_reset(void);
void vcpu_ctx_init(vcpu_ctx_t *v, int slot, unsigned int cpu);
void vcpu_load(vcpu_ctx_t *v, const uint8_t *code, size_t len);
int vcpu_run_local(vcpu_ctx_t *v, uint64_t timeout_ticks);

// boot/vcpu_switch.S
void vcpu_enter(vcpu_ctx_t *v);
void vcpu_exit_to_host(vcpu_ctx_t *v) __attribute__((noreturn));
#endif

#endif
