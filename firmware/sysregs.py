# The system-register table: one source of truth for the firmware's C module
# (tools/gen_sysregs.py turns it into a C header), for `pcpu` on the target and
# for the host tools, which decode register values with the same fields.
#
# Plain data only: this file runs on MicroPython and on CPython.

RO = "ro"
RW = "rw"

# Fields: (name, msb, lsb, meaning). Single-bit fields have msb == lsb.
HCR_EL2_FIELDS = (
    ("VM", 0, 0, "stage 2 translation for EL1&0 (virtualization enabled)"),
    ("SWIO", 1, 1, "set/way invalidation override"),
    ("PTW", 2, 2, "protected table walk"),
    ("FMO", 3, 3, "physical FIQ routed to EL2, virtual FIQ enabled"),
    ("IMO", 4, 4, "physical IRQ routed to EL2, virtual IRQ enabled"),
    ("AMO", 5, 5, "physical SError routed to EL2, virtual SError enabled"),
    ("VF", 6, 6, "virtual FIQ pending"),
    ("VI", 7, 7, "virtual IRQ pending"),
    ("VSE", 8, 8, "virtual SError pending"),
    ("FB", 9, 9, "force broadcast of TLB and cache maintenance"),
    ("BSU", 11, 10, "barrier shareability upgrade"),
    ("DC", 12, 12, "default cacheability"),
    ("TWI", 13, 13, "trap WFI to EL2"),
    ("TWE", 14, 14, "trap WFE to EL2"),
    ("TID0", 15, 15, "trap ID group 0"),
    ("TID1", 16, 16, "trap ID group 1"),
    ("TID2", 17, 17, "trap ID group 2"),
    ("TID3", 18, 18, "trap ID group 3"),
    ("TSC", 19, 19, "trap SMC from EL1 to EL2 (clear: a guest's SMC reaches the firmware below EL2, "
                    "on QEMU virt its PSCI, which can power the machine off)"),
    ("TIDCP", 20, 20, "trap implementation defined functionality"),
    ("TACR", 21, 21, "trap auxiliary control registers"),
    ("TSW", 22, 22, "trap data cache set/way instructions"),
    ("TPCP", 23, 23, "trap data cache clean to point of coherency/persistence"),
    ("TPU", 24, 24, "trap cache maintenance to point of unification"),
    ("TTLB", 25, 25, "trap TLB maintenance"),
    ("TVM", 26, 26, "trap virtual memory controls"),
    ("TGE", 27, 27, "trap general exceptions (host at EL2)"),
    ("TDZ", 28, 28, "trap DC ZVA"),
    ("HCD", 29, 29, "HVC instruction disabled"),
    ("TRVM", 30, 30, "trap reads of virtual memory controls"),
    ("RW", 31, 31, "EL1 is AArch64"),
    ("CD", 32, 32, "stage 2 data access cacheability disabled"),
    ("ID", 33, 33, "stage 2 instruction access cacheability disabled"),
    ("E2H", 34, 34, "EL2 host (VHE)"),
)

ESR_EL2_FIELDS = (
    ("ISS", 24, 0, "instruction specific syndrome"),
    ("IL", 25, 25, "32-bit instruction"),
    ("EC", 31, 26, "exception class"),
)

SCTLR_EL2_FIELDS = (
    ("M", 0, 0, "MMU enabled"),
    ("A", 1, 1, "alignment check"),
    ("C", 2, 2, "data cacheable"),
    ("SA", 3, 3, "stack alignment check"),
    ("I", 12, 12, "instruction cacheable"),
    ("WXN", 19, 19, "write permission implies execute never"),
    ("EE", 25, 25, "big-endian data"),
)

SCTLR_EL1_FIELDS = (
    ("M", 0, 0, "stage 1 MMU enabled"),
    ("A", 1, 1, "alignment check"),
    ("C", 2, 2, "data cacheable"),
    ("SA", 3, 3, "stack alignment check"),
    ("SA0", 4, 4, "stack alignment check at EL0"),
    ("I", 12, 12, "instruction cacheable"),
    ("WXN", 19, 19, "write permission implies execute never"),
    ("E0E", 24, 24, "big-endian data at EL0"),
    ("EE", 25, 25, "big-endian data"),
)

TCR_EL2_FIELDS = (
    ("T0SZ", 5, 0, "VA size is 2**(64 - T0SZ)"),
    ("IRGN0", 9, 8, "inner cacheability of table walks (1 = write-back)"),
    ("ORGN0", 11, 10, "outer cacheability of table walks (1 = write-back)"),
    ("SH0", 13, 12, "shareability of table walks (3 = inner)"),
    ("TG0", 15, 14, "granule size (0 = 4 KiB)"),
    ("PS", 18, 16, "physical address size (2 = 40 bits)"),
)

MAIR_FIELDS = tuple(("Attr%d" % i, 8 * i + 7, 8 * i, "memory attribute %d" % i) for i in range(8))

# Not accessible from EL2: only its fields are used (the EL3 -> EL2 drop at boot).
SCR_EL3_FIELDS = (
    ("NS", 0, 0, "lower ELs are Non-secure"),
    ("HCE", 8, 8, "HVC enabled"),
    ("RW", 10, 10, "EL2 is AArch64"),
)

CPACR_EL1_FIELDS = (
    ("ZEN", 17, 16, "SVE access at EL1/EL0 (3 = no trap)"),
    ("FPEN", 21, 20, "FP/SIMD access at EL1/EL0 (3 = no trap)"),
)

CPTR_EL2_FIELDS = (
    ("TZ", 8, 8, "trap SVE"),
    ("TFP", 10, 10, "trap FP/SIMD"),
    ("TTA", 20, 20, "trap trace registers"),
    ("TCPAC", 31, 31, "trap CPACR_EL1 accesses"),
)

SPSR_FIELDS = (
    ("M", 3, 0, "exception level and stack pointer (4 = EL1t, 5 = EL1h, 8 = EL2t, 9 = EL2h)"),
    ("nRW", 4, 4, "AArch32 state"),
    ("F", 6, 6, "FIQ masked"),
    ("I", 7, 7, "IRQ masked"),
    ("A", 8, 8, "SError masked"),
    ("D", 9, 9, "debug masked"),
    ("V", 28, 28, "overflow"),
    ("C", 29, 29, "carry"),
    ("Z", 30, 30, "zero"),
    ("N", 31, 31, "negative"),
)

DAIF_FIELDS = (
    ("F", 6, 6, "FIQ masked"),
    ("I", 7, 7, "IRQ masked"),
    ("A", 8, 8, "SError masked"),
    ("D", 9, 9, "debug masked"),
)

TIMER_CTL_FIELDS = (
    ("ENABLE", 0, 0, "timer enabled"),
    ("IMASK", 1, 1, "timer interrupt masked"),
    ("ISTATUS", 2, 2, "timer condition met"),
)

MPIDR_FIELDS = (
    ("Aff0", 7, 0, "affinity level 0 (core)"),
    ("Aff1", 15, 8, "affinity level 1 (cluster)"),
    ("Aff2", 23, 16, "affinity level 2"),
    ("MT", 24, 24, "multithreaded affinity"),
    ("U", 30, 30, "uniprocessor"),
    ("Aff3", 39, 32, "affinity level 3"),
)

MIDR_FIELDS = (
    ("Revision", 3, 0, "revision"),
    ("PartNum", 15, 4, "part number (0xd08 = Cortex-A72)"),
    ("Architecture", 19, 16, "architecture (0xf = by ID registers)"),
    ("Variant", 23, 20, "variant"),
    ("Implementer", 31, 24, "implementer (0x41 = Arm)"),
)

CURRENTEL_FIELDS = (("EL", 3, 2, "current exception level"),)

VTCR_EL2_FIELDS = (
    ("T0SZ", 5, 0, "IPA size is 2**(64 - T0SZ)"),
    ("SL0", 7, 6, "starting level of the stage 2 walk"),
    ("IRGN0", 9, 8, "inner cacheability of table walks"),
    ("ORGN0", 11, 10, "outer cacheability of table walks"),
    ("SH0", 13, 12, "shareability of table walks"),
    ("TG0", 15, 14, "granule size (0 = 4 KiB)"),
    ("PS", 18, 16, "physical address size"),
)

ID_AA64MMFR0_FIELDS = (
    ("PARange", 3, 0, "physical address range: 32, 36, 40, 42, 44, 48, 52 bits"),
    ("ASIDBits", 7, 4, "ASID size: 8 or 16 bits"),
    ("TGran4", 31, 28, "4 KiB granule support"),
)

MDCR_EL2_FIELDS = (
    ("HPMN", 4, 0, "event counters EL1 and EL0 may use"),
    ("TPMCR", 5, 5, "trap PMCR_EL0 accesses"),
    ("TPM", 6, 6, "trap performance monitor accesses"),
    ("HPME", 7, 7, "EL2 event counters enabled"),
    ("TDE", 8, 8, "route debug exceptions to EL2"),
    ("TDA", 9, 9, "trap debug register accesses"),
    ("TDOSA", 10, 10, "trap debug OS-related register accesses"),
    ("TDRA", 11, 11, "trap debug ROM address register accesses"),
)

CNTHCTL_EL2_FIELDS = (
    ("EL1PCTEN", 0, 0, "EL1/EL0 may read the physical counter"),
    ("EL1PCEN", 1, 1, "EL1/EL0 may use the physical timer"),
    ("EVNTEN", 2, 2, "event stream enabled"),
    ("EVNTDIR", 3, 3, "event stream on a 1-to-0 transition"),
    ("EVNTI", 7, 4, "event stream from counter bit EVNTI"),
)

# name: (op0, op1, CRn, CRm, op2, access, description, fields)
REGISTERS = {
    "CurrentEL": (3, 0, 4, 2, 2, RO, "Current Exception Level", CURRENTEL_FIELDS),
    "MIDR_EL1": (3, 0, 0, 0, 0, RO, "Main ID Register", MIDR_FIELDS),
    "MPIDR_EL1": (3, 0, 0, 0, 5, RO, "Multiprocessor Affinity Register", MPIDR_FIELDS),
    "ID_AA64PFR0_EL1": (3, 0, 0, 4, 0, RO, "Processor Feature Register 0", ()),
    "ID_AA64MMFR0_EL1": (3, 0, 0, 7, 0, RO, "Memory Model Feature Register 0", ID_AA64MMFR0_FIELDS),
    "ID_AA64MMFR1_EL1": (3, 0, 0, 7, 1, RO, "Memory Model Feature Register 1", ()),
    "VBAR_EL2": (3, 4, 12, 0, 0, RW, "Vector Base Address Register (EL2)", ()),
    "HCR_EL2": (3, 4, 1, 1, 0, RW, "Hypervisor Configuration Register", HCR_EL2_FIELDS),
    "SCTLR_EL2": (3, 4, 1, 0, 0, RW, "System Control Register (EL2)", SCTLR_EL2_FIELDS),
    "CPTR_EL2": (3, 4, 1, 1, 2, RW, "Architectural Feature Trap Register (EL2)", CPTR_EL2_FIELDS),
    # The firmware's own EL2 translation: changing any of them wedges it, so read-only here.
    "TCR_EL2": (3, 4, 2, 0, 2, RO, "Translation Control Register (EL2)", TCR_EL2_FIELDS),
    "MAIR_EL2": (3, 4, 10, 2, 0, RO, "Memory Attribute Indirection Register (EL2)", MAIR_FIELDS),
    "TTBR0_EL2": (3, 4, 2, 0, 0, RO, "Translation Table Base Register 0 (EL2)", ()),
    "MDCR_EL2": (3, 4, 1, 1, 1, RW, "Monitor Debug Configuration Register (EL2)", MDCR_EL2_FIELDS),
    "HSTR_EL2": (3, 4, 1, 1, 3, RW, "Hypervisor System Trap Register", ()),
    "VTTBR_EL2": (3, 4, 2, 1, 0, RW, "Virtualization Translation Table Base Register", ()),
    "VTCR_EL2": (3, 4, 2, 1, 2, RW, "Virtualization Translation Control Register", VTCR_EL2_FIELDS),
    "VPIDR_EL2": (3, 4, 0, 0, 0, RW, "Virtualization Processor ID Register", MIDR_FIELDS),
    "VMPIDR_EL2": (3, 4, 0, 0, 5, RW, "Virtualization Multiprocessor ID Register", MPIDR_FIELDS),
    "TPIDR_EL2": (3, 4, 13, 0, 2, RW, "Software Thread ID Register (EL2)", ()),
    "ESR_EL2": (3, 4, 5, 2, 0, RW, "Exception Syndrome Register (EL2)", ESR_EL2_FIELDS),
    "ELR_EL2": (3, 4, 4, 0, 1, RW, "Exception Link Register (EL2)", ()),
    "SPSR_EL2": (3, 4, 4, 0, 0, RW, "Saved Program Status Register (EL2)", SPSR_FIELDS),
    "FAR_EL2": (3, 4, 6, 0, 0, RW, "Fault Address Register (EL2)", ()),
    "HPFAR_EL2": (3, 4, 6, 0, 4, RW, "Hypervisor IPA Fault Address Register", ()),
    "CNTHCTL_EL2": (3, 4, 14, 1, 0, RW, "Counter-timer Hypervisor Control Register", CNTHCTL_EL2_FIELDS),
    "CNTVOFF_EL2": (3, 4, 14, 0, 3, RW, "Counter-timer Virtual Offset Register", ()),
    # The host's own timer, shared by the soft timers, CPU ticks and guest deadlines: read-only here.
    "CNTHP_CTL_EL2": (3, 4, 14, 2, 1, RO, "EL2 physical timer control", TIMER_CTL_FIELDS),
    "CNTHP_CVAL_EL2": (3, 4, 14, 2, 2, RO, "EL2 physical timer compare value", ()),
    "CNTHP_TVAL_EL2": (3, 4, 14, 2, 0, RO, "EL2 physical timer value", ()),
    "CNTP_CTL_EL0": (3, 3, 14, 2, 1, RW, "EL1 physical timer control", TIMER_CTL_FIELDS),
    "CNTP_CVAL_EL0": (3, 3, 14, 2, 2, RW, "EL1 physical timer compare value", ()),
    "CNTFRQ_EL0": (3, 3, 14, 0, 0, RW, "Counter-timer Frequency Register", ()),
    "CNTPCT_EL0": (3, 3, 14, 0, 1, RO, "Counter-timer Physical Count Register", ()),
    # PSTATE's masks of the code that makes the access: read-only, as every PSTATE field.
    "DAIF": (3, 3, 4, 2, 1, RO, "Interrupt Mask Bits", DAIF_FIELDS),
    "SCTLR_EL1": (3, 0, 1, 0, 0, RW, "System Control Register (EL1)", SCTLR_EL1_FIELDS),
    "CPACR_EL1": (3, 0, 1, 0, 2, RW, "Architectural Feature Access Control Register", CPACR_EL1_FIELDS),
    "TTBR0_EL1": (3, 0, 2, 0, 0, RW, "Translation Table Base Register 0 (EL1)", ()),
    "TTBR1_EL1": (3, 0, 2, 0, 1, RW, "Translation Table Base Register 1 (EL1)", ()),
    "TCR_EL1": (3, 0, 2, 0, 2, RW, "Translation Control Register (EL1)", ()),
    "MAIR_EL1": (3, 0, 10, 2, 0, RW, "Memory Attribute Indirection Register (EL1)", MAIR_FIELDS),
    "CONTEXTIDR_EL1": (3, 0, 13, 0, 1, RW, "Context ID Register (EL1)", ()),
    "TPIDR_EL1": (3, 0, 13, 0, 4, RW, "Software Thread ID Register (EL1)", ()),
    "TPIDR_EL0": (3, 3, 13, 0, 2, RW, "Software Thread ID Register (EL0)", ()),
    "TPIDRRO_EL0": (3, 3, 13, 0, 3, RW, "Read-Only Software Thread ID Register (EL0)", ()),
    "ESR_EL1": (3, 0, 5, 2, 0, RW, "Exception Syndrome Register (EL1)", ESR_EL2_FIELDS),
    "FAR_EL1": (3, 0, 6, 0, 0, RW, "Fault Address Register (EL1)", ()),
    "PAR_EL1": (3, 0, 7, 4, 0, RW, "Physical Address Register", ()),
    "CNTKCTL_EL1": (3, 0, 14, 1, 0, RW, "Counter-timer Kernel Control Register", ()),
    "CNTV_CTL_EL0": (3, 3, 14, 3, 1, RW, "EL1 virtual timer control", TIMER_CTL_FIELDS),
    "CNTV_CVAL_EL0": (3, 3, 14, 3, 2, RW, "EL1 virtual timer compare value", ()),
    "VBAR_EL1": (3, 0, 12, 0, 0, RW, "Vector Base Address Register (EL1)", ()),
    "SP_EL1": (3, 4, 4, 1, 0, RW, "Stack Pointer (EL1)", ()),
    "ICH_HCR_EL2": (3, 4, 12, 11, 0, RW, "Interrupt Controller Hyp Control Register (GICv3)", ()),
    "ICC_SRE_EL2": (3, 4, 12, 9, 5, RW, "Interrupt Controller System Register Enable (GICv3)", ()),
}

# Registers named only for their fields (not accessible from EL2).
FIELDS_ONLY = {
    "SCR_EL3": SCR_EL3_FIELDS,
}

# Bits that read as one and must be written as one (RES1), where the firmware
# writes a whole register.
RES1 = {
    "SCTLR_EL2": 0x30C50830,
    "SCTLR_EL1": 0x30D00800,
    "CPTR_EL2": 0x32FF,
    "TCR_EL2": (1 << 31) | (1 << 23),
    "SCR_EL3": (1 << 5) | (1 << 4),
}

# Bits the firmware itself runs on: write_sysreg() refuses a value that would
# change them (ValueError, nothing written), so the REPL cannot be wedged by a
# typo. VBAR_EL2 and HCR_EL2.VM are checked apart, against the CPU's state
# (WRITE_POLICY below).
FIRMWARE_OWNED = {
    "SCTLR_EL2": ("M", "A", "C", "I", "WXN", "EE"),   # MMU, caches, alignment, endianness
    "CPTR_EL2": ("TFP",),                            # the firmware uses FP/SIMD at EL2
    "HCR_EL2": ("E2H", "IMO"),                       # EL1 register names; IRQs taken at EL2
    "MDCR_EL2": ("TDE", "TDA", "TDOSA", "TDRA", "TPM", "TPMCR"),   # debug stays off EL2; guests' debug/PMU trap
    "CNTHCTL_EL2": ("EVNTEN",),                      # the event stream bounds every WFE wait
}

# Registers of which only these fields may change: every other bit (RES1
# and RES0 bits, fields of later architecture versions the table does not
# describe, such as SCTLR_EL2.BT, which would fault the firmware's own
# indirect branches, and CPTR_EL2.TZ, which keeps guests off SVE state the
# firmware does not switch) is the firmware's too.
WRITABLE_ONLY = {
    "SCTLR_EL2": ("SA",),
    "CPTR_EL2": ("TTA", "TCPAC"),
}

ALL_BITS = (1 << 64) - 1


def owned_mask(name):
    """The bits of `name` a write must leave as they are."""
    m = mask(name, *FIRMWARE_OWNED.get(name, ()))
    if name in WRITABLE_ONLY:
        m |= ALL_BITS & ~mask(name, *WRITABLE_ONLY[name])
    return m


# The write policy, one decision for every register of REGISTERS (the README's
# "Reliability" lists them; a test checks that every register has one):
#   READ_ONLY     write_sysreg() refuses any write;
#   OWNED         the bits owned_mask() gives must be written unchanged, the rest is free;
#   CHECKED       a value is checked against that CPU's state at the moment of the write;
#   FREE          any value: nothing the firmware runs on depends on it;
#   CONSEQUENCE   any value, with the consequence said here.
# The tuple holds constants only (the decisions spelt out, not by name), so
# the compiler keeps it in the image: it costs the target's heap nothing.
READ_ONLY, OWNED, CHECKED, FREE, CONSEQUENCE = "read-only", "owned bits", "checked", "free", "consequence"
WRITE_POLICY = (
    ("CurrentEL", "read-only", "architecturally read-only"),
    ("MIDR_EL1", "read-only", "architecturally read-only"),
    ("MPIDR_EL1", "read-only", "architecturally read-only"),
    ("ID_AA64PFR0_EL1", "read-only", "architecturally read-only"),
    ("ID_AA64MMFR0_EL1", "read-only", "architecturally read-only"),
    ("ID_AA64MMFR1_EL1", "read-only", "architecturally read-only"),
    ("CNTPCT_EL0", "read-only", "architecturally read-only"),
    ("TCR_EL2", "read-only", "the firmware's own translation: any change wedges it"),
    ("MAIR_EL2", "read-only", "the firmware's own translation: any change wedges it"),
    ("TTBR0_EL2", "read-only", "the firmware's own translation: any change wedges it"),
    ("CNTHP_CTL_EL2", "read-only", "the host's EL2 timer, shared by machine.Timer, CPU ticks and guest deadlines:"
                                 " a write stopped them all; use machine.Timer or aarch64.cpu_timer"),
    ("CNTHP_CVAL_EL2", "read-only", "as CNTHP_CTL_EL2"),
    ("CNTHP_TVAL_EL2", "read-only", "as CNTHP_CTL_EL2"),
    ("DAIF", "read-only", "PSTATE: the masks of the code making the access; I set stopped every interrupt of CPU "
                        "0 for good"),
    ("VBAR_EL2", "checked", "HOST_VECTORS or VCPU_VECTORS only, and VCPU_VECTORS while HCR_EL2.VM is set: guest "
                          "exits are taken there"),
    ("HCR_EL2", "checked", "E2H and IMO owned (IMO clear: IRQs never reach EL2, so timers and Ctrl-C stop); VM "
                         "only with RW set, TGE clear and VBAR_EL2 = VCPU_VECTORS (else a guest cannot be "
                         "entered, or its exits land on the host vectors); TSC clear lets a guest's SMC reach "
                         "the firmware below (on QEMU virt, PSCI: it can power the machine off)"),
    ("SCTLR_EL2", "owned bits", "only SA may change: the rest is the firmware's MMU, caches, alignment, endianness"),
    ("CPTR_EL2", "owned bits", "only TTA and TCPAC may change: TFP clear (the firmware uses FP/SIMD), TZ set (no guest"
                        " reaches SVE state the firmware does not switch)"),
    ("MDCR_EL2", "owned bits", "TDE clear (debug exceptions stay off EL2); TDA, TDOSA, TDRA, TPM, TPMCR set (guests' "
                        "debug and PMU accesses trap); HPMN, HPME free"),
    ("CNTHCTL_EL2", "owned bits", "EVNTEN set (the event stream bounds every WFE wait of the firmware); "
                           "EL1PCTEN/EL1PCEN clear make guests' counter and timer accesses trap"),
    ("HSTR_EL2", "free", "traps of AArch32 EL1: guests are AArch64"),
    ("VTTBR_EL2", "free", "written anew for each guest on entry"),
    ("VTCR_EL2", "free", "written anew for each guest on entry"),
    ("VPIDR_EL2", "free", "switched with each vCPU"),
    ("VMPIDR_EL2", "free", "switched with each vCPU"),
    ("TPIDR_EL2", "free", "the firmware does not use it"),
    ("ESR_EL2", "free", "set by the next exception taken at EL2 (a cross-call is one)"),
    ("ELR_EL2", "free", "set by the next exception taken at EL2 (a cross-call is one)"),
    ("SPSR_EL2", "free", "set by the next exception taken at EL2 (a cross-call is one)"),
    ("FAR_EL2", "free", "set by the next exception taken at EL2 (a cross-call is one)"),
    ("HPFAR_EL2", "free", "set by the next exception taken at EL2 (a cross-call is one)"),
    ("CNTVOFF_EL2", "consequence", "shifts the virtual counter guests see"),
    ("CNTP_CTL_EL0", "consequence", "the host's wake-up timer: re-armed before each wait, so a write lasts until "
                                  "the next one"),
    ("CNTP_CVAL_EL0", "consequence", "as CNTP_CTL_EL0"),
    ("CNTFRQ_EL0", "consequence", "what guests read as the counter's frequency (the firmware keeps the one it "
                                "read at boot); faults where EL3 owns it (a real Pi)"),
    ("SCTLR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("CPACR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("TTBR0_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("TTBR1_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("TCR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("MAIR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("CONTEXTIDR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("TPIDR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("TPIDR_EL0", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("TPIDRRO_EL0", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("ESR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("FAR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("PAR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("CNTKCTL_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("CNTV_CTL_EL0", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit; the "
                           "host does not use the virtual timer"),
    ("CNTV_CVAL_EL0", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit; the "
                            "host does not use the virtual timer"),
    ("VBAR_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("SP_EL1", "free", "the host's own EL1 copy: every guest has its own, switched on entry and exit"),
    ("ICH_HCR_EL2", "consequence", "GICv3 only: faults on a GICv2 machine; on a GICv3 its TC, TALL0 and TALL1 "
                                   "keep guests off the host's CPU interface: clearing them lets a guest "
                                   "acknowledge or mask the host's interrupts"),
    ("ICC_SRE_EL2", "consequence", "GICv3 only: faults on a GICv2 machine; on a GICv3 the host's interrupts "
                                   "need its SRE"),
)


def write_policy(name):
    """(decision, why) for register `name` of the table."""
    for n, decision, why in WRITE_POLICY:
        if n == name:
            return decision, why
    raise KeyError(name)

# Registers named by an encoding the table does not know: writes are refused
# where one could wedge the firmware, reads always allowed.
#   op0 3, CRn 4: PSTATE fields and special-purpose registers (SPSel, NZCV,
#     PAN, FPCR, SP_EL0, ...): they are the state of the code making the write;
#   op1 4: EL2 registers the firmware has made no decision about;
#   op0 3, CRn 11 or 15: implementation defined (a core's own controls).
# Any other (EL1 and EL0 state, debug registers, EL3 and EL12 names, which
# fault at EL2) may be written.
UNKNOWN_WRITES_REFUSED = (
    ("SPECIAL", "a PSTATE field or special-purpose register: the state of the code making the write"),
    ("EL2", "an EL2 register the register table makes no decision about"),
    ("IMPDEF", "an implementation-defined register: it can change how the core itself works"),
)


# Cores by MIDR_EL1: (Implementer, PartNum, name), what the banner calls the
# CPU. Tuples of constants, like the policy below: they stay in the image
# instead of taking heap the garbage collector walks.
CPU_PARTS = (
    (0x41, 0xD03, "Cortex-A53"),
    (0x41, 0xD04, "Cortex-A35"),
    (0x41, 0xD05, "Cortex-A55"),
    (0x41, 0xD07, "Cortex-A57"),
    (0x41, 0xD08, "Cortex-A72"),
    (0x41, 0xD09, "Cortex-A73"),
    (0x41, 0xD0A, "Cortex-A75"),
    (0x41, 0xD0B, "Cortex-A76"),
    (0x41, 0xD0C, "Neoverse-N1"),
    (0x41, 0xD0D, "Cortex-A77"),
    (0x41, 0xD40, "Neoverse-V1"),
    (0x41, 0xD41, "Cortex-A78"),
    (0x41, 0xD44, "Cortex-X1"),
    (0x41, 0xD46, "Cortex-A510"),
    (0x41, 0xD47, "Cortex-A710"),
    (0x41, 0xD48, "Cortex-X2"),
    (0x41, 0xD49, "Neoverse-N2"),
    (0x41, 0xD4F, "Neoverse-V2"),
    (0x46, 0x001, "A64FX"),
    (0x00, 0x051, "QEMU max"),      # Implementer 0: "software"; PartNum 'Q'
)


def cpu_name(midr):
    """The core a MIDR_EL1 value names, e.g. 'Cortex-A72', or its numbers if unknown."""
    implementer, part = (midr >> 24) & 0xFF, (midr >> 4) & 0xFFF
    for i, p, name in CPU_PARTS:
        if (i, p) == (implementer, part):
            return name
    return "core %#04x:%#05x" % (implementer, part)

# ESR_ELx.EC values: (name, meaning)
EXCEPTION_CLASSES = {
    0x00: ("UNKNOWN", "unknown reason"),
    0x01: ("WFX", "WFI or WFE trapped"),
    0x07: ("FP_ACCESS", "FP/SIMD access trapped"),
    0x0E: ("ILLEGAL_STATE", "illegal execution state"),
    0x11: ("SVC32", "SVC in AArch32"),
    0x12: ("HVC32", "HVC in AArch32"),
    0x13: ("SMC32", "SMC in AArch32"),
    0x15: ("SVC64", "SVC in AArch64"),
    0x16: ("HVC64", "HVC in AArch64"),
    0x17: ("SMC64", "SMC in AArch64"),
    0x18: ("SYSREG", "MSR, MRS or system instruction trapped"),
    0x20: ("IABT_LOWER", "instruction abort from a lower EL"),
    0x21: ("IABT_CUR", "instruction abort at the current EL"),
    0x22: ("PC_ALIGN", "PC alignment fault"),
    0x24: ("DABT_LOWER", "data abort from a lower EL"),
    0x25: ("DABT_CUR", "data abort at the current EL"),
    0x26: ("SP_ALIGN", "SP alignment fault"),
    0x2C: ("FP64", "floating-point exception"),
    0x2F: ("SERROR", "SError interrupt"),
    0x30: ("BREAKPOINT_LOWER", "breakpoint from a lower EL"),
    0x31: ("BREAKPOINT_CUR", "breakpoint at the current EL"),
    0x32: ("STEP_LOWER", "software step from a lower EL"),
    0x33: ("STEP_CUR", "software step at the current EL"),
    0x34: ("WATCHPOINT_LOWER", "watchpoint from a lower EL"),
    0x35: ("WATCHPOINT_CUR", "watchpoint at the current EL"),
    0x3C: ("BRK64", "BRK instruction in AArch64"),
}


def fields(reg):
    """The field tuples of a register of the table (or of FIELDS_ONLY)."""
    return REGISTERS[reg][7] if reg in REGISTERS else FIELDS_ONLY[reg]


def field(reg, name):
    """(name, msb, lsb, meaning) of field `name` of register `reg`; KeyError if unknown."""
    for f in fields(reg):
        if f[0] == name:
            return f
    raise KeyError("%s has no field %s" % (reg, name))


def mask(reg, *names):
    """The bits of the named fields of `reg`: mask("HCR_EL2", "VM", "RW")."""
    m = 0
    for name in names:
        _, msb, lsb, _ = field(reg, name)
        m |= ((1 << (msb - lsb + 1)) - 1) << lsb
    return m


def field_value(value, field):
    name, msb, lsb = field[0], field[1], field[2]
    return (value >> lsb) & ((1 << (msb - lsb + 1)) - 1)


def decode(name, value):
    """The named fields of `value` for register `name` that are not zero, as a
    list of (field name, field value)."""
    out = []
    for f in REGISTERS[name][7]:
        v = field_value(value, f)
        if v:
            out.append((f[0], v))
    return out


def format_fields(name, value):
    """A short text of the fields, e.g. 'VM IMO FMO RW' or 'EC=0x16 IL ISS=0x0'."""
    parts = []
    for fname, v in decode(name, value):
        field = [f for f in REGISTERS[name][7] if f[0] == fname][0]
        parts.append(fname if field[1] == field[2] else "%s=%#x" % (fname, v))
    return " ".join(parts)


def ec_name(esr):
    ec = (esr >> 26) & 0x3F
    return EXCEPTION_CLASSES.get(ec, ("EC_%#x" % ec, "reserved"))[0]
