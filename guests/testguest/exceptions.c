/* The guest's own EL1 exceptions: VBAR_EL1 points at start.S's table, and
   exception_handler() either records an exception a check asked for
   (trap_expect) or reports an unexpected one and ends the run. */
#include "testguest.h"

static const char *const vector_names[VECTOR_COUNT] = {
    "EL1t sync", "EL1t IRQ", "EL1t FIQ", "EL1t SError",
    "EL1h sync", "EL1h IRQ", "EL1h FIQ", "EL1h SError",
    "EL0 AArch64 sync", "EL0 AArch64 IRQ", "EL0 AArch64 FIQ", "EL0 AArch64 SError",
    "EL0 AArch32 sync", "EL0 AArch32 IRQ", "EL0 AArch32 FIQ", "EL0 AArch32 SError",
};

static volatile bool trap_armed;
static volatile uint64_t trap_skip;
static struct trap_record trap_seen;
static volatile int handler_depth;

void exceptions_install(void)
{
    write_sysreg(vbar_el1, (uint64_t)exception_vectors);
    isb();
}

void trap_expect(uint64_t skip)
{
    memset(&trap_seen, 0, sizeof trap_seen);
    trap_skip = skip;
    trap_armed = true;
}

struct trap_record trap_result(void)
{
    trap_armed = false;
    return trap_seen;
}

void (*irq_handler)(struct exception_frame *frame);

void exception_handler(uint64_t vector, struct exception_frame *frame)
{
    if (vector == VECTOR_CUR_SPX_IRQ && irq_handler) {
        irq_handler(frame);
        return;
    }
    uint64_t esr = read_sysreg(esr_el1), far = read_sysreg(far_el1);
    if (vector == VECTOR_CUR_SPX_SYNC && trap_armed) {
        trap_armed = false;
        trap_seen.taken = true;
        trap_seen.esr = esr;
        trap_seen.elr = frame->elr;
        trap_seen.far = far;
        frame->elr += trap_skip;
        return;
    }
    if (handler_depth++) {
        park();                         /* a fault while reporting one: stop quietly */
    }
    const char *name = vector < VECTOR_COUNT ? vector_names[vector] : "?";
    say("unexpected exception: %s, ESR_EL1 0x%lx (EC 0x%lx, ISS 0x%lx), ELR_EL1 0x%lx, FAR_EL1 0x%lx, "
        "SPSR_EL1 0x%lx, on mpidr 0x%lx", name, esr, ESR_EC(esr), ESR_ISS(esr), frame->elr, far,
        frame->spsr, read_sysreg(mpidr_el1) & MPIDR_AFFINITY_MASK);
    failures++;
    finish();
}

/* svc and brk, each with its own ISS; the check sees both the syndrome and
   where the handler returned to. */
void exception_checks(void)
{
    uint64_t at, after, resumed;

    trap_expect(0);                     /* an SVC's ELR already points past it */
    __asm__ volatile("adr %0, 1f\n"
                     "adr %1, 2f\n"
                     "mov %2, #0\n"
                     "1: svc #0x42\n"
                     "2: mov %2, #1\n"
                     : "=&r"(at), "=&r"(after), "=&r"(resumed) : : "memory");
    struct trap_record svc = trap_result();
    check(svc.taken && ESR_EC(svc.esr) == EC_SVC64 && (svc.esr & 0xffff) == 0x42 && svc.elr == after && resumed,
          "svc #0x42 taken by our vectors: ESR_EL1 0x%lx (EC 0x%lx, imm 0x%lx), ELR at the next instruction: %s",
          svc.esr, ESR_EC(svc.esr), svc.esr & 0xffff, svc.elr == after ? "yes" : "no");

    trap_expect(4);                     /* a BRK's ELR is the BRK: step over it */
    __asm__ volatile("adr %0, 1f\n"
                     "adr %1, 2f\n"
                     "mov %2, #0\n"
                     "1: brk #0x17\n"
                     "2: mov %2, #1\n"
                     : "=&r"(at), "=&r"(after), "=&r"(resumed) : : "memory");
    struct trap_record brk = trap_result();
    check(brk.taken && ESR_EC(brk.esr) == EC_BRK64 && (brk.esr & 0xffff) == 0x17 && brk.elr == at && resumed,
          "brk #0x17 taken by our vectors: ESR_EL1 0x%lx (EC 0x%lx, comment 0x%lx), ELR at the brk: %s, resumed after it",
          brk.esr, ESR_EC(brk.esr), brk.esr & 0xffff, brk.elr == at ? "yes" : "no");
}
