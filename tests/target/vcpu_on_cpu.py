# A guest runs on the CPU it names. Prints (EC of its HVC exit, Aff0 of the
# MPIDR_EL1 the guest read).
import pcpu, sysregs, vcpu
from vcpu import A64, code

CPU = globals().get("CPU", 1)

pcpu.Aarch64PerCpu.new(CPU).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.mrs(0, "MPIDR_EL1"), A64.hvc(3)), cpu_id=CPU)
e = v.run()
print(repr((e.ec, sysregs.field_value(v.regs[0], sysregs.field("MPIDR_EL1", "Aff0")))))
