# A guest that enables FP and sets FPCR.FZ (flush to zero) leaves the host's
# floats alone. Prints (host result before, guest FPCR seen, host result after).
import pcpu, vcpu
from vcpu import A64, code

CPU = globals().get("CPU", 0)
FPCR = (3, 3, 4, 4, 0)
before = 1e-310 * 1.0
pcpu.Aarch64PerCpu.new(CPU).hardware_enable()
guest = code(A64.movz(0, 3 << 4, 16), A64.msr("CPACR_EL1", 0), A64.ISB,     # FPEN = 3
             A64.movz(1, 1 << 8, 16), A64.msr(FPCR, 1), A64.mrs(2, FPCR), A64.hvc(0))
with vcpu.Aarch64VCpu(guest, cpu_id=CPU) as v:
    e = v.run(timeout_ms=1000)
    guest_fpcr = v.regs[2]
after = 1e-310 * 1.0
pcpu.Aarch64PerCpu.new(CPU).hardware_disable()
print(repr((before, e.ec_name, guest_fpcr, after)))
