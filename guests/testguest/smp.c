/* The secondaries: each cpu node but our own is started with PSCI CPU_ON at
   secondary_entry (start.S) with its cpus[] index as the context id. It
   checks where it runs, reports in secondary_reports[] and turns itself off
   with CPU_OFF. The primary waits for every report, then for AFFINITY_INFO
   to say OFF.

   With the MMU off, memory is Device-nGnRnE for every CPU: no cache stands
   between them, so a plain store and a DSB publish a report. */
#include "testguest.h"

#define WAIT_MS         10000           /* per wait; generous for a loaded host */
#define WAIT_TRIES      100000000ul

struct cpu_node cpus[MAX_CPUS];
unsigned int cpu_count;
int boot_cpu = -1;

enum report_state { NOT_RUN = 0, RAN = 1 };

struct secondary_report {
    volatile uint64_t state;            /* written last */
    volatile uint64_t context_id;       /* what x0 held at secondary_entry */
    volatile uint64_t mpidr;            /* its MPIDR_EL1 affinity */
    volatile uint64_t current_el;
    volatile uint64_t sctlr;
    volatile uint64_t daif;
    volatile uint64_t cpu_off_returned; /* CPU_OFF's result + 1 if it came back */
};
static struct secondary_report secondary_reports[MAX_CPUS];

struct deadline deadline_after_ms(uint64_t ms)
{
    uint64_t freq = read_sysreg(cntfrq_el0);
    struct deadline d = { read_sysreg(cntvct_el0) + freq / 1000 * ms, WAIT_TRIES };
    if (freq == 0) {
        d.end = UINT64_MAX;             /* no timer frequency: the try count alone */
    }
    return d;
}

bool deadline_passed(struct deadline *d)
{
    return d->tries_left-- == 0 || read_sysreg(cntvct_el0) >= d->end;
}

void secondary_main(uint64_t context_id)
{
    struct secondary_report *r = &secondary_reports[context_id];
    r->context_id = context_id;
    r->mpidr = read_sysreg(mpidr_el1) & MPIDR_AFFINITY_MASK;
    r->current_el = CURRENT_EL(read_sysreg(CurrentEL));
    r->sctlr = read_sysreg(sctlr_el1);
    r->daif = read_sysreg(DAIF);
    dsb_sy();
    r->state = RAN;
    dsb_sy();
    sev();
    int64_t result = psci_call(PSCI_CPU_OFF, 0, 0, 0);
    /* CPU_OFF never returns on success. */
    r->cpu_off_returned = (uint64_t)result + 1;
    dsb_sy();
    park();
}

static bool wait_for_report(unsigned int i)
{
    struct deadline d = deadline_after_ms(WAIT_MS);
    while (secondary_reports[i].state != RAN) {
        if (secondary_bad_context || deadline_passed(&d)) {
            return false;
        }
    }
    return true;
}

static int64_t wait_for_off(unsigned int i)
{
    struct deadline d = deadline_after_ms(WAIT_MS);
    int64_t state;
    do {
        state = psci_call(PSCI_AFFINITY_INFO_64, cpus[i].mpidr, 0, 0);
    } while (state != AFFINITY_OFF && !deadline_passed(&d));
    return state;
}

void smp_checks(void)
{
    unsigned int n = cpu_count < MAX_CPUS ? cpu_count : MAX_CPUS;
    check(cpu_count <= MAX_CPUS, "at most %d cpus to test: %u", MAX_CPUS, cpu_count);
    if (!check(boot_cpu >= 0, "the boot cpu (mpidr 0x%lx) is a cpu node",
               read_sysreg(mpidr_el1) & MPIDR_AFFINITY_MASK)) {
        return;
    }

    int64_t self = psci_call(PSCI_AFFINITY_INFO_64, cpus[boot_cpu].mpidr, 0, 0);
    check(self == AFFINITY_ON, "affinity info of the boot cpu %d: %ld (ON is 0)", boot_cpu, self);
    int64_t again = psci_call(PSCI_CPU_ON_64, cpus[boot_cpu].mpidr, (uint64_t)secondary_entry, boot_cpu);
    check(again == PSCI_ALREADY_ON, "cpu on of the running boot cpu: %ld (%s)", again, psci_result_name(again));
    /* Aff3 0xfe is on no cpu node here: no such CPU. */
    int64_t nobody = psci_call(PSCI_CPU_ON_64, 0xfe00000000ul, (uint64_t)secondary_entry, 0);
    check(nobody == PSCI_INVALID_PARAMETERS, "cpu on of mpidr 0xfe00000000 (no such cpu): %ld (%s)",
          nobody, psci_result_name(nobody));

    bool started[MAX_CPUS] = { false };
    for (unsigned int i = 0; i < n; i++) {
        if ((int)i == boot_cpu) {
            continue;
        }
        int64_t on = psci_call(PSCI_CPU_ON_64, cpus[i].mpidr, (uint64_t)secondary_entry, i);
        started[i] = check(on == PSCI_SUCCESS, "cpu on of cpu %u (mpidr 0x%lx, context id %u): %ld (%s)",
                           i, cpus[i].mpidr, i, on, psci_result_name(on));
    }
    for (unsigned int i = 0; i < n; i++) {
        if (!started[i]) {
            continue;
        }
        struct secondary_report *r = &secondary_reports[i];
        if (!wait_for_report(i)) {
            check(false, "cpu %u ran (no report within %d ms)", i, WAIT_MS);
            continue;
        }
        check(r->context_id == i && r->mpidr == cpus[i].mpidr,
              "cpu %u ran with context id %lu and mpidr 0x%lx (expected %u and 0x%lx)",
              i, r->context_id, r->mpidr, i, cpus[i].mpidr);
        /* PSCI: a CPU_ON'd CPU starts at the caller's EL, MMU off, all of DAIF masked. */
        check(r->current_el == 1 && !(r->sctlr & SCTLR_M) && (r->daif & DAIF_ALL) == DAIF_ALL,
              "cpu %u started at EL%lu with the MMU %s and DAIF 0x%lx", i, r->current_el,
              r->sctlr & SCTLR_M ? "on" : "off", r->daif);
    }
    if (secondary_bad_context) {
        check(false, "a secondary started with context id 0x%lx (beyond %d)",
              secondary_bad_context & ~BIT(63), MAX_CPUS - 1);
    }
    for (unsigned int i = 0; i < n; i++) {
        if (!started[i]) {
            continue;
        }
        int64_t state = wait_for_off(i);
        check(state == AFFINITY_OFF, "affinity info of cpu %u after its cpu off: %ld (OFF is 1)", i, state);
        if (secondary_reports[i].cpu_off_returned) {
            int64_t result = (int64_t)secondary_reports[i].cpu_off_returned - 1;
            check(false, "cpu off of cpu %u returned %ld (%s)", i, result, psci_result_name(result));
        }
    }
}
