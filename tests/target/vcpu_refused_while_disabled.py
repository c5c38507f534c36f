# run() on a CPU whose virtualization is off is AxError(BadState): before
# hardware_enable() and again after hardware_disable(). Prints (the error
# kind before, the EC of the exit while enabled, the error kind after).
import pcpu, vcpu
from vcpu import A64, code


def refused(v):
    try:
        v.run()
    except pcpu.AxError as e:
        return e.kind


v = vcpu.Aarch64VCpu(code(A64.hvc(0)))
before = refused(v)
p = pcpu.Aarch64PerCpu.new(0)
p.hardware_enable()
ec = v.run().ec
p.hardware_disable()
print(repr((before, ec, refused(v))))
