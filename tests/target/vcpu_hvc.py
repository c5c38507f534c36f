# A guest's HVC exits to EL2 with EC 0x16 (HVC64) and its immediate in the ISS.
# Prints (kind, EC, EC name, immediate, ELR, x0).
import pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.movz(0, 7), A64.hvc(0x42)))
e = v.run()
print(repr((e.kind, e.ec, e.ec_name, e.iss & 0xffff, e.elr, v.regs[0])))
