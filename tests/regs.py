"""Register values the tests expect, built from the firmware's register table
(firmware/sysregs.py, installed as host_tools.target.sysregs) by field name,
so no test file spells a bit position or a mask of its own."""
from host_tools.target import sysregs

# What pcpu's hardware_enable() sets in HCR_EL2 (0x8008_0019).
HCR_ENABLE = sysregs.mask("HCR_EL2", "VM", "RW", "IMO", "FMO", "TSC")

# HCR_EL2 as the firmware boots (0x38): IRQ, FIQ and SError routed to EL2, or
# the firmware, which runs at EL2, could not take its own interrupts.
HCR_BOOT = sysregs.mask("HCR_EL2", "IMO", "FMO", "AMO")

# A trap bit the firmware never sets itself: the host's own bit that enable
# and disable must keep.
HCR_TWI = sysregs.mask("HCR_EL2", "TWI")

# CPTR_EL2.TFP: FP/SIMD traps at EL2 (the firmware keeps it clear).
CPTR_TFP = sysregs.mask("CPTR_EL2", "TFP")

# Registers of the GICv3 CPU interface: not implemented on these GICv2 boards.
GICV3_ONLY = tuple(name for name, reg in sysregs.REGISTERS.items() if "(GICv3)" in reg[6])


def field(reg, name, value):
    """Field `name` of register `reg` in `value`: field("ESR_EL2", "EC", esr)."""
    return sysregs.field_value(value, sysregs.field(reg, name))
