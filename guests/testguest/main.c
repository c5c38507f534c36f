/* The test guest's run: what the device tree says, then every check in
   turn, then PASS or FAIL and PSCI SYSTEM_OFF with the failure count in x1.
   A bootargs word mode=<name> picks a misbehaviour instead (modes.c). */
#include "testguest.h"

unsigned int failures;

static char mode[32] = "normal";
static const char *bootargs_seen = "";

/* One line per check: its text, then ": ok" or ": FAILED". */
bool check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap, ok ? ": ok" : ": FAILED");
    va_end(ap);
    if (!ok) {
        failures++;
    }
    return ok;
}

void finish(void)
{
    if (failures) {
        say("FAIL %u", failures);
    } else {
        say("PASS");
    }
    int64_t result = psci_call(PSCI_SYSTEM_OFF, failures, 0, 0);
    say("SYSTEM_OFF returned %ld (%s)", result, psci_result_name(result));
    park();
}

/* The bootargs word "<key><decimal>" (key "n=" for n=100), else dflt. */
uint64_t bootarg_number(const char *key, uint64_t dflt)
{
    size_t len = strlen(key);
    for (const char *p = bootargs_seen; *p;) {
        while (*p == ' ') {
            p++;
        }
        if (strncmp(p, key, len) == 0 && p[len] >= '0' && p[len] <= '9') {
            uint64_t v = 0;
            for (p += len; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (uint64_t)(*p - '0');
            }
            if (*p == ' ' || *p == '\0') {
                return v;
            }
        }
        while (*p && *p != ' ') {
            p++;
        }
    }
    return dflt;
}

/* The word "mode=<name>" of the bootargs, if there is one. */
static void read_mode(const char *bootargs)
{
    bootargs_seen = bootargs;
    for (const char *p = bootargs; *p;) {
        while (*p == ' ') {
            p++;
        }
        const char *word = p;
        while (*p && *p != ' ') {
            p++;
        }
        if (strncmp(word, "mode=", 5) == 0) {
            size_t n = 0;
            for (word += 5; word < p && n < sizeof mode - 1; word++) {
                mode[n++] = *word;
            }
            mode[n] = '\0';
        }
    }
}

static uint64_t console_base(void)
{
    uint64_t base, size;
    int node = fdt_find_compatible(-1, "arm,pl011");
    return node >= 0 && fdt_reg(node, 0, &base, &size) ? base : PL011_FALLBACK_BASE;
}

/* /cpus/cpu@*: their MPIDRs (reg, in /cpus' #address-cells) into cpus[]. */
static void read_cpus(void)
{
    uint64_t own = read_sysreg(mpidr_el1) & MPIDR_AFFINITY_MASK;
    int parent = fdt_path("/cpus");
    uint32_t cells = fdt_prop_u32(parent, "#address-cells", 1);
    for (int node = fdt_first_child(parent); node >= 0; node = fdt_next_sibling(node)) {
        if (strncmp(fdt_name(node), "cpu@", 4) != 0) {
            continue;                   /* cpu-map and the like */
        }
        int len;
        const void *reg = fdt_prop(node, "reg", &len);
        if (cpu_count < MAX_CPUS && reg && (cells == 1 || cells == 2) && len >= (int)(4 * cells)) {
            cpus[cpu_count].mpidr = fdt_cells(reg, cells);
            if (cpus[cpu_count].mpidr == own) {
                boot_cpu = (int)cpu_count;
            }
        }
        cpu_count++;
    }
}

static bool read_psci_method(const char **method)
{
    int node = fdt_path("/psci");
    if (node < 0) {
        node = fdt_find_compatible(-1, "arm,psci-0.2");
    }
    *method = node >= 0 ? fdt_prop_string(node, "method") : NULL;
    if (*method && strcmp(*method, "smc") == 0) {
        psci_conduit = CONDUIT_SMC;
        return true;
    }
    psci_conduit = CONDUIT_HVC;         /* also the guess when the tree says nothing */
    return *method && strcmp(*method, "hvc") == 0;
}

static bool contains(uint64_t base, uint64_t size, uint64_t start, uint64_t end)
{
    return base <= start && start <= end && end <= base + size;
}

void testguest_main(uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3)
{
    /* The state booting.rst promises, read before anything changes it. */
    uint64_t el = CURRENT_EL(read_sysreg(CurrentEL)), spsel = read_sysreg(SPSel) & 1;
    uint64_t daif = read_sysreg(DAIF), sctlr = read_sysreg(sctlr_el1);

    exceptions_install();
    const char *fdt_error = fdt_init(x0);
    if (!fdt_error) {
        console_init(console_base());
        const char *bootargs = fdt_prop_string(fdt_path("/chosen"), "bootargs");
        read_mode(bootargs ? bootargs : "");
    }
    say("mode %s", mode);
    if (fdt_error) {
        check(false, "device tree at 0x%lx: %s", x0, fdt_error);
        finish();
    }
    check(true, "device tree at 0x%lx, %u bytes", x0, fdt_total_size());

    uint64_t ram_base = 0, ram_size = 0;
    int memory = fdt_path("/memory");
    bool have_memory = memory >= 0 && fdt_reg(memory, 0, &ram_base, &ram_size);
    say("memory 0x%lx 0x%lx", ram_base, ram_size);
    read_cpus();
    say("cpus %u", cpu_count);
    const char *method;
    bool have_method = read_psci_method(&method);
    say("psci %s", method ? method : "(no method)");
    const char *bootargs = fdt_prop_string(fdt_path("/chosen"), "bootargs");
    say("bootargs %s", bootargs ? bootargs : "");

    if (strcmp(mode, "normal") != 0) {
        if (!run_mode(mode)) {
            check(false, "mode %s: no such mode", mode);
        }
        finish();
    }

    check(el == 1 && spsel == 1, "entered at EL%lu%s", el, spsel ? "h" : "t");
    check(!(sctlr & SCTLR_M), "entered with the MMU off (SCTLR_EL1 0x%lx)", sctlr);
    check((daif & DAIF_ALL) == DAIF_ALL, "entered with D, A, I and F masked (DAIF 0x%lx)", daif);
    check(x1 == 0 && x2 == 0 && x3 == 0, "entered with x1-x3 zero (0x%lx 0x%lx 0x%lx)", x1, x2, x3);
    check((uint64_t)_start == LINK_ADDRESS, "running where linked: 0x%lx (linked at 0x%lx)",
          (uint64_t)_start, (uint64_t)LINK_ADDRESS);
    check(have_memory && contains(ram_base, ram_size, (uint64_t)_start, (uint64_t)_end),
          "memory holds the guest 0x%lx-0x%lx", (uint64_t)_start, (uint64_t)_end);
    check(have_memory && contains(ram_base, ram_size, x0, x0 + fdt_total_size()),
          "memory holds the device tree 0x%lx-0x%lx", x0, x0 + fdt_total_size());
    check(cpu_count >= 1, "at least one cpu node");
    check(have_method, "psci method is hvc or smc");

    exception_checks();
    psci_checks();
    smp_checks();
    mmio_checks_from_tree();
    finish();
}
