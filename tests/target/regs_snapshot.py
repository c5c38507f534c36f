# Registers of every online CPU, each read on its own CPU. Prints a list with
# one tuple per CPU, in the order of REGS.
import aarch64

REGS = globals().get("REGS", ("VBAR_EL2", "HCR_EL2"))

print(repr([tuple(aarch64.read_sysreg(r, c) for r in REGS) for c in range(aarch64.cpu_count())]))
