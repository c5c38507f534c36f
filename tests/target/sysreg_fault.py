# Reading a register the CPU does not implement (a GICv3 one on a GICv2
# machine) is an aarch64.Fault, an OSError. Prints (errno, ESR_EL2, is an
# OSError); nothing if the read did not fault.
import aarch64

NAME = globals().get("NAME", "ICH_HCR_EL2")

try:
    aarch64.read_sysreg(NAME)
except aarch64.Fault as e:
    print(repr((e.errno, e.esr, isinstance(e, OSError))))
