# Each CPU gets a different host HCR_EL2 value first (the boot value plus a
# trap bit of its own), so a mixed-up ORI_EXCEPTION_VECTOR_BASE or HCR slot
# would show; then every CPU is enabled and disabled again. Prints
# {"before": [(VBAR_EL2, HCR_EL2) per CPU], "enabled": pcpu.status().rows
# while enabled, "after": [(VBAR_EL2, HCR_EL2) per CPU]}.
import aarch64, pcpu, sysregs

BOOT_HCR = sysregs.mask("HCR_EL2", "IMO", "FMO", "AMO")
OWN_BIT = ("TWI", "TWE", "TID0", "TID1")

n = aarch64.cpu_count()
for c in range(n):
    aarch64.write_sysreg("HCR_EL2", BOOT_HCR | sysregs.mask("HCR_EL2", OWN_BIT[c]), c)
cpus = [pcpu.Aarch64PerCpu.new(c) for c in range(n)]
regs = lambda: [(aarch64.read_sysreg("VBAR_EL2", c), aarch64.read_sysreg("HCR_EL2", c)) for c in range(n)]
before = regs()
for p in cpus:
    p.hardware_enable()
enabled = pcpu.status().rows
for p in cpus:
    p.hardware_disable()
print(repr({"before": before, "enabled": enabled, "after": regs()}))
