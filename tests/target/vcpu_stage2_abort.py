# HCR_EL2.VM: a guest load outside its stage-2 map is a data abort that
# reports the IPA. Prints (EC, EC name, IPA, FAR, ELR).
import pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.movz(1, 0x8000, 16), A64.ldr(0, 1)))   # x0 = [0x8000_0000]
e = v.run()
print(repr((e.ec, e.ec_name, e.ipa, e.far, e.elr)))
