/* Misbehaviour on purpose, chosen by the bootargs word mode=<name>: what a
   hypervisor must survive (stop the guest, report, stay usable). Each mode
   says what it is about to do first, since it may never print again. A
   guest that gets through its misbehaviour ends as a normal run does. */
#include "testguest.h"

static void mode_wfi(void)
{
    say("wfi: interrupts masked, waiting for an interrupt forever");
    __asm__ volatile("msr daifset, #0xf" : : : "memory");
    for (;;) {
        wfi();
    }
}

static void mode_flood(void)
{
    for (uint64_t n = 0;; n++) {
        say("flood line %lu: the quick brown fox jumps over the lazy dog", n);
    }
}

/* A load from where no RAM or device is. If the hypervisor hands the abort
   back to the guest, our vectors take it and the guest says so. */
static void wild_load(uint64_t address)
{
    uint64_t value = 0;
    say("wild: loading from 0x%lx", address);
    trap_expect(4);
    __asm__ volatile("ldr %0, [%1]" : "+r"(value) : "r"(address) : "memory");
    struct trap_record t = trap_result();
    if (t.taken) {
        say("wild: load from 0x%lx took an exception: ESR_EL1 0x%lx (EC 0x%lx), FAR_EL1 0x%lx",
            address, t.esr, ESR_EC(t.esr), t.far);
    } else {
        say("wild: load from 0x%lx returned 0x%lx", address, value);
    }
}

static void mode_wild(void)
{
    wild_load(0x700000000ul);
    wild_load(0x30000000ul);
}

/* Translation tables of garbage: the first instruction fetch after
   SCTLR_EL1.M is set walks them. */
static uint64_t garbage_table[512] __attribute__((aligned(4096)));

static void mode_mmu_garbage(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ul;
    for (int i = 0; i < 512; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        garbage_table[i] = x | 3;       /* "valid table descriptor" to random places */
    }
    uint64_t tcr = TCR_T0SZ(25) | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_TG0_4K
                   | TCR_EPD1 | TCR_IPS_40BIT;
    say("mmu-garbage: TTBR0_EL1 0x%lx (a page of garbage descriptors), TCR_EL1 0x%lx, setting SCTLR_EL1.M",
        (uint64_t)garbage_table, tcr);
    dsb_sy();
    write_sysreg(mair_el1, 0xff);       /* attribute 0: normal, write-back */
    write_sysreg(tcr_el1, tcr);
    write_sysreg(ttbr0_el1, (uint64_t)garbage_table);
    isb();
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I);
    isb();
    say("mmu-garbage: still running with the MMU on");
}

static void mode_udf(void)
{
    say("udf: VBAR_EL1 = 0, executing udf #0");
    write_sysreg(vbar_el1, 0);
    isb();
    __asm__ volatile("udf #0" : : : "memory");
    exceptions_install();
    say("udf: came back from the undefined instruction");
}

/* PSCI_VERSION by SMC whatever the tree says: a hypervisor that traps SMC
   must return past it (ELR + 4); one that does not runs the SMC again. */
static void mode_smc_version(void)
{
    say("smc-version: PSCI_VERSION by smc #0");
    trap_expect(4);
    int64_t version = psci_call_via(CONDUIT_SMC, PSCI_VERSION, 0, 0, 0);
    struct trap_record t = trap_result();
    if (t.taken) {
        check(false, "smc-version: smc #0 took an exception in the guest: ESR_EL1 0x%lx (EC 0x%lx)",
              t.esr, ESR_EC(t.esr));
    } else {
        check(true, "smc-version: smc #0 returned 0x%lx (%s %u.%u)", (uint64_t)version,
              version < 0 ? psci_result_name(version) : "version",
              version < 0 ? 0 : (uint32_t)version >> 16, version < 0 ? 0 : (uint32_t)version & 0xffff);
    }
}

/* Not a misbehaviour: the MMIO checks against a page of the guest's own RAM,
   which behaves as the test device does. Proves the checks themselves. */
static void mode_mmio_ram(void)
{
    mmio_checks((uint64_t)mmio_ram_page);
}

static const struct {
    const char *name;
    void (*run)(void);
} modes[] = {
    { "wfi", mode_wfi },
    { "flood", mode_flood },
    { "wild", mode_wild },
    { "mmu-garbage", mode_mmu_garbage },
    { "udf", mode_udf },
    { "smc-version", mode_smc_version },
    { "mmio-ram", mode_mmio_ram },
    { "vtimer", mode_vtimer },         /* not misbehaviour: timing.c's measures */
    { "console", mode_console },
    { "rtc", mode_rtc },               /* a passed-through device's interrupt (rtc.c) */
};

bool run_mode(const char *name)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(name, modes[i].name) == 0) {
            modes[i].run();
            return true;
        }
    }
    return false;
}
