# HVC #vcpu.NULL_HVC is answered in C without an exit to Python: a guest
# makes 1000 of them, then exits with HVC #7. Prints (immediate of the one
# exit, v.stats()).
import pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.movz(2, 1000), A64.hvc(vcpu.NULL_HVC), A64.subs_imm(2, 2, 1),
                          A64.bne(-2), A64.hvc(7)))
e = v.run()
print(repr((e.iss & 0xffff, v.stats())))
