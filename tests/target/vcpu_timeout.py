# run(timeout_ms=...) stops a guest that never exits; the host keeps its own
# vectors installed. Prints (kind of the exit, VBAR_EL2 is the vCPU table).
import aarch64, pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.b(0)))
e = v.run(timeout_ms=1)
while e.kind == "irq":
    e = v.run(timeout_ms=50)
print(repr((e.kind, aarch64.read_sysreg("VBAR_EL2") == aarch64.VCPU_VECTORS)))
