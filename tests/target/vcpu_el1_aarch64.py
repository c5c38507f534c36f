# HCR_EL2.RW: the guest runs AArch64 at EL1. Prints (CurrentEL.EL as the guest
# read it, a register holding 0xffff << 48: 64 bits wide).
import pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.mrs(0, "CurrentEL"), A64.movz(1, 0xffff, 48), A64.hvc(0)))
v.run()
print(repr((v.regs[0] >> 2, v.regs[1])))
