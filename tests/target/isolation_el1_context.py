# Guest A's EL1/EL0 registers are its own: guest B on the same CPU starts
# from reset values, and A finds its values again when it runs next.
# Prints {"a_first": ..., "b": ..., "a_again": ...}: name -> value read in the guest.
import pcpu, vcpu
from vcpu import A64, code

CPU = globals().get("CPU", 0)
REGS = ("TPIDR_EL1", "TPIDR_EL0", "TPIDRRO_EL0", "TTBR0_EL1", "TTBR1_EL1", "CONTEXTIDR_EL1",
        "MAIR_EL1", "TCR_EL1", "CPACR_EL1", "CNTV_CVAL_EL0", "CNTKCTL_EL1", "VBAR_EL1")


def reader():
    # x1.. = each register, then HVC #1
    return [A64.mrs(1 + i, r) for i, r in enumerate(REGS)] + [A64.hvc(1)]


def writer():
    # each register = 0x1000 * (i + 1) + 0x40 (aligned for VBAR_EL1 and TTBRs), then read them back
    words = []
    for i, r in enumerate(REGS):
        words += [A64.movz(0, 0x1000 * (i + 1) + 0x800, 0), A64.msr(r, 0)]
    return words + [A64.ISB, A64.hvc(0)] + reader()


pcpu.Aarch64PerCpu.new(CPU).hardware_enable()
out = {}
with vcpu.Aarch64VCpu(code(*writer()), cpu_id=CPU) as a:
    a.run(timeout_ms=1000)
    a.run(timeout_ms=1000)
    out["a_first"] = dict((r, a.regs[1 + i]) for i, r in enumerate(REGS))
    with vcpu.Aarch64VCpu(code(*reader()), cpu_id=CPU) as b:
        b.run(timeout_ms=1000)
        out["b"] = dict((r, b.regs[1 + i]) for i, r in enumerate(REGS))
    a.pc = vcpu.GUEST_IPA + 4 * (2 * len(REGS) + 2)     # back to A's reader
    a.run(timeout_ms=1000)
    out["a_again"] = dict((r, a.regs[1 + i]) for i, r in enumerate(REGS))
pcpu.Aarch64PerCpu.new(CPU).hardware_disable()
print(repr(out))
