# An enable whose HCR_EL2 write fails after VBAR_EL2 was written rolls back:
# the CPU ends as before. Prints (the AxError kind, registers as before,
# is_enabled()).
import aarch64, pcpu, sysregs

VM = sysregs.mask("HCR_EL2", "VM")

p = pcpu.Aarch64PerCpu.new(0)
before = (aarch64.read_sysreg("VBAR_EL2"), aarch64.read_sysreg("HCR_EL2"))
real = pcpu._write


def failing(name, value, cpu=None):
    if name == "HCR_EL2" and value & VM:     # the write that enables
        raise OSError("injected")
    real(name, value, cpu)


pcpu._write = failing
kind = None
try:
    p.hardware_enable()
except pcpu.AxError as e:
    kind = e.kind
pcpu._write = real
print(repr((kind, before == (aarch64.read_sysreg("VBAR_EL2"), aarch64.read_sysreg("HCR_EL2")), p.is_enabled())))
