# HCR_EL2.TSC traps the guest's SMC to EL2 (EC 0x17); the next run() resumes
# after it. Prints (EC, ELR of the SMC exit, EC, immediate of the HVC that
# follows, x3 set between them).
import pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.smc(0), A64.movz(3, 9), A64.hvc(1)))
smc = v.run()
hvc = v.run()
print(repr((smc.ec, smc.elr, hvc.ec, hvc.iss & 0xffff, v.regs[3])))
