# A guest runs on the CPU it names. Prints (EC of its HVC exit, the
# MPIDR_EL1 the guest read).
import pcpu, vcpu
from vcpu import A64, code

CPU = globals().get("CPU", 1)

pcpu.Aarch64PerCpu.new(CPU).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.mrs(0, "MPIDR_EL1"), A64.hvc(3)), cpu_id=CPU)
e = v.run()
print(repr((e.ec, v.regs[0])))
