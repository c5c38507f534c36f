// The vCPU core: guest memory and stage 2, entering the guest, VM exits.
//
// This file is built with -mgeneral-regs-only: vm_exit() runs with the
// guest's FP/SIMD registers still live, and must not touch them.
#include "cpu.h"
#include "exception.h"
#include "smp.h"
#include "timer.h"
#include "vcpu.h"
#include "vgic.h"
#include "vm.h"

// Guest RAM: one 2 MiB block per vCPU slot, and its stage-2 tables.
extern uint8_t __guest_ram_start[];     // boot/link.ld: VCPU_MAX x VCPU_GUEST_RAM_SIZE, 2 MiB aligned
#define guest_ram ((uint8_t (*)[VCPU_GUEST_RAM_SIZE])__guest_ram_start)
static uint64_t stage2_l1[VCPU_MAX][512] __attribute__((aligned(4096)));
static uint64_t stage2_l2[VCPU_MAX][512] __attribute__((aligned(4096)));
static bool slot_used[VCPU_MAX];

#define S2_TABLE        0x3ul
#define S2_BLOCK        0x1ul
#define S2_NORMAL_WB    (0xful << 2)    // MemAttr: outer and inner write-back
#define S2_RW           (3ul << 6)      // S2AP: read/write
#define S2_SH_INNER     (3ul << 8)
#define S2_AF           (1ul << 10)

// 4 GiB of IPA space (T0SZ 32) walked from level 1 (SL0 1), 4 KiB granule,
// tables write-back cacheable and inner shareable, 40-bit PA; bit 31 is RES1.
#define VTCR_EL2_VALUE  ((1ul << 31) | FIELD_PREP(VTCR_EL2_PS, 2) | FIELD_PREP(VTCR_EL2_SH0, 3) \
                         | FIELD_PREP(VTCR_EL2_ORGN0, 1) | FIELD_PREP(VTCR_EL2_IRGN0, 1) \
                         | FIELD_PREP(VTCR_EL2_SL0, 1) | FIELD_PREP(VTCR_EL2_T0SZ, 32))

_Static_assert(offsetof(vcpu_ctx_t, frame) == VCPU_FRAME, "vCPU frame offset");
_Static_assert(offsetof(vcpu_ctx_t, host) == VCPU_HOST, "vCPU host registers offset");
_Static_assert(offsetof(vcpu_ctx_t, host_fp) == VCPU_HOST_FP, "vCPU host FP offset");
_Static_assert(offsetof(vcpu_ctx_t, guest_fp) == VCPU_GUEST_FP, "vCPU guest FP offset");

int vcpu_slot_alloc(void) {
    for (int i = 0; i < VCPU_MAX; ++i) {
        if (!slot_used[i]) {
            slot_used[i] = true;
            return i;
        }
    }
    return -1;
}

void vcpu_slot_free(int slot) {
    if (slot >= 0 && slot < VCPU_MAX) {
        slot_used[slot] = false;
    }
}

void vcpu_slots_reset(void) {
    for (int i = 0; i < VCPU_MAX; ++i) {
        slot_used[i] = false;
    }
}

// Guest stage 1 is off, so the guest reads memory uncached: clean what the
// host wrote to the point of coherency, and drop stale instruction lines.
static void clean_to_poc(const void *start, size_t len) {
    for (uintptr_t a = (uintptr_t)start & ~63ul; a < (uintptr_t)start + len; a += 64) {
        __asm__ volatile ("dc civac, %0" :: "r" (a) : "memory");
    }
    __asm__ volatile ("dsb sy\n ic iallu\n dsb sy\n isb" ::: "memory");
}

void vcpu_ctx_init(vcpu_ctx_t *v, int slot, unsigned int cpu) {
    uint64_t *p = (uint64_t *)v;
    for (size_t i = 0; i < sizeof(*v) / 8; ++i) {
        p[i] = 0;
    }
    v->slot = slot;
    v->cpu = cpu;
    v->frame.elr = VCPU_GUEST_IPA;
    v->frame.spsr = SPSR_EL1H_MASKED;
    #define VCPU_CONTEXT_RESET(reg, reset) v->el1.reg = (reset);
    VCPU_EL1_CONTEXT(VCPU_CONTEXT_RESET)
    // The guest sees the identity of the CPU it runs on (uniprocessor-style
    // MPIDR: that CPU's own), and the host's MIDR.
    v->el1.vmpidr_el2 = cpu_local[cpu].mpidr;
    v->el1.vpidr_el2 = SYSREG_READ(midr_el1);
    // Stage 2: IPA 0x4000_0000 (level-1 entry 1, level-2 entry 0) -> this slot's 2 MiB.
    uint64_t *l1 = stage2_l1[slot], *l2 = stage2_l2[slot];
    for (int i = 0; i < 512; ++i) {
        l1[i] = 0;
        l2[i] = 0;
    }
    l2[0] = (uintptr_t)guest_ram[slot] | S2_BLOCK | S2_NORMAL_WB | S2_RW | S2_SH_INNER | S2_AF;
    l1[VCPU_GUEST_IPA >> 30] = (uintptr_t)l2 | S2_TABLE;
    __asm__ volatile ("dsb ish" ::: "memory");
    v->vttbr = ((uint64_t)(slot + 1) << 48) | (uintptr_t)l1;   // VMID = slot + 1
    v->tlb_fresh = true;
    v->vtcr = VTCR_EL2_VALUE;
}

void vcpu_load(vcpu_ctx_t *v, const uint8_t *code, size_t len) {
    uint8_t *ram = guest_ram[v->slot];
    for (size_t i = 0; i < VCPU_GUEST_LOADED_SIZE; ++i) {
        ram[i] = i < len ? code[i] : 0;
    }
    clean_to_poc(ram, VCPU_GUEST_LOADED_SIZE);
}

// An exit that leaves the guest (or a VM's PSCI query): kept out of line so
// that vm_exit's null-hypercall path stays a leaf with a minimal prologue.
static void __attribute__((noinline)) vm_exit_slow(cpu_local_t *cpu, vcpu_ctx_t *v, trap_frame_t *frame,
    uint64_t kind, uint64_t esr) {
    uint32_t ec = FIELD_GET(ESR_EL2_EC, esr);
    if (v->vm != NULL && EXC_TYPE(kind) == EXC_SYNC && vm_fast_exit(v, frame, esr)) {
        return;         // answered in C (PSCI queries): straight back into the guest
    }
    uint64_t *src = (uint64_t *)frame, *dst = (uint64_t *)&v->frame;
    for (size_t i = 0; i < sizeof(trap_frame_t) / 8; ++i) {
        dst[i] = src[i];
    }
    v->esr = EXC_TYPE(kind) == EXC_SYNC ? esr : 0;
    v->far = SYSREG_READ(far_el2);
    v->hpfar = SYSREG_READ(hpfar_el2);
    if (EXC_TYPE(kind) == EXC_SYNC && ec == EC_SMC64) {
        v->frame.elr += 4;      // a trapped SMC returns to itself: resume after it
    }
    cpu->vcpu_exit_kind = EXC_TYPE(kind) == EXC_SYNC ? VCPU_EXIT_SYNC : VCPU_EXIT_IRQ;
    vcpu_exit_to_host(v);
}

// Called by the lower-EL vectors of exception_vector_base_vcpu.
void vm_exit(trap_frame_t *frame, uint64_t kind) {
    cpu_local_t *cpu = this_cpu();
    vcpu_ctx_t *v = cpu->current_vcpu;
    if (v == NULL) {
        invalid_exception(frame, kind);
    }
    uint64_t esr = SYSREG_READ(esr_el2);
    v->exits++;
    if (EXC_TYPE(kind) == EXC_SYNC && FIELD_GET(ESR_EL2_EC, esr) == EC_HVC64
        && FIELD_GET(ESR_EL2_ISS, esr) == VCPU_NULL_HVC) {
        // The null hypercall: answered here, straight back into the guest.
        v->null_hvcs++;
        frame->x[0] = 0;
        return;
    }
    vm_exit_slow(cpu, v, frame, kind, esr);
}

// Run the guest on this CPU until one exit that needs the host.
int vcpu_run_local(vcpu_ctx_t *v, uint64_t timeout_ticks) {
    if (!(SYSREG_READ(hcr_el2) & HCR_EL2_VM)) {
        return VCPU_EXIT_DISABLED;
    }
    cpu_local_t *cpu = this_cpu();
    uint64_t daif = irq_save();
    // The guest's own HCR_EL2 bits, whatever pcpu's hardware_enable() set
    // (its routing="vcpu" sets VM, RW and TSC alone, as the newest arm_vcpu
    // does): stage 2, AArch64 EL1, SMC trapped, and physical IRQs and FIQs
    // taken at EL2, where the firmware handles its own and injects the
    // guest's through the list registers (virtual IRQ/FIQ need IMO/FMO too).
    // The host's value comes back at the exit.
    uint64_t host_hcr = SYSREG_READ(hcr_el2);
    uint64_t guest_hcr = host_hcr | VCPU_HCR_EL2;
    if (v->vm != NULL && vm_one_vcpu_on(v->vm)) {
        guest_hcr |= HCR_EL2_TTLB;      // its TLBIs done on this CPU alone (vm.c)
    }
    if (guest_hcr != host_hcr) {
        SYSREG_WRITE(hcr_el2, guest_hcr);
    }
    v->hcr = guest_hcr;
    SYSREG_WRITE(vtcr_el2, v->vtcr);
    SYSREG_WRITE(vttbr_el2, v->vttbr);
    isb();
    if (v->tlb_fresh) {
        __asm__ volatile ("tlbi vmalls12e1\n dsb nsh\n isb" ::: "memory");
        v->tlb_fresh = false;
    }
    // Only what differs from what the CPU holds: back into the same guest
    // after a host IRQ, nothing does. (QEMU flushes its whole TLB on every
    // SCTLR_EL1 or TCR_EL1 write, changed or not, and a guest then refills
    // it through both stages: that alone made Linux's boot 0.6 s slower.)
    #define VCPU_CONTEXT_LOAD(reg, reset) \
    if (SYSREG_READ(reg) != v->el1.reg) { \
        SYSREG_WRITE(reg, v->el1.reg); \
    }
    VCPU_EL1_CONTEXT(VCPU_CONTEXT_LOAD)
    SYSREG_WRITE(cntvoff_el2, v->cntvoff);
    if (v->vm != NULL) {
        vgic_load(v);       // IRQs masked: an interrupt raised after this ends the run at once
    }
    // The deadline is on the host's EL2 timer, which the guest cannot reach.
    uint64_t deadline = 0;
    if (timeout_ticks) {
        deadline = timer_counter() + timeout_ticks;
        timer_guest_deadline_set(deadline);
    }
    cpu->current_vcpu = v;
    vcpu_enter(v);
    cpu->current_vcpu = NULL;
    int kind = cpu->vcpu_exit_kind;
    if (deadline) {
        timer_guest_deadline_set(0);
        if (kind == VCPU_EXIT_IRQ && timer_counter() >= deadline) {
            kind = VCPU_EXIT_TIMEOUT;
        }
    }
    #define VCPU_CONTEXT_SAVE(reg, reset) v->el1.reg = SYSREG_READ(reg);
    VCPU_EL1_CONTEXT(VCPU_CONTEXT_SAVE)
    if (v->vm != NULL) {
        vgic_save(v);
    }
    // The guest's timers stop firing while the host runs.
    SYSREG_WRITE(cntp_ctl_el0, 0);
    SYSREG_WRITE(cntv_ctl_el0, 0);
    if (guest_hcr != host_hcr) {
        SYSREG_WRITE(hcr_el2, host_hcr);
    }
    isb();
    irq_restore(daif);      // the IRQ that ended the run is taken by the host now
    return kind;
}
