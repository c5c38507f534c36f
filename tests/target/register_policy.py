# The writes the register fuzz found wedging or silently breaking the
# firmware, one by one, with what each now gives (README, "Reliability").
# Prints {case: (exception type or None, message, what was observed after)}.
import aarch64, machine, pcpu, time, vcpu

HOST, VCPU = aarch64.HOST_VECTORS, aarch64.VCPU_VECTORS
VM, RW, IMO, TGE = 1 << 0, 1 << 31, 1 << 4, 1 << 27
from timer_probe import *     # ticks, tick, timer_fires


def attempt(fn):
    try:
        fn()
        return (None, "")
    except Exception as e:
        return (type(e).__name__, str(e))


def guest_exit(cpu):
    """The exit of a guest that makes one HVC, on `cpu`; or the error."""
    try:
        with vcpu.Aarch64VCpu(vcpu.code(vcpu.A64.hvc(7)), cpu_id=cpu) as g:
            e = g.run(timeout_ms=1000)
            while e.kind == "irq":
                e = g.run(timeout_ms=1000)
            return e.ec_name or e.kind
    except Exception as e:
        return type(e).__name__


def write(name, value, cpu=0):
    return attempt(lambda: aarch64.write_sysreg(name, value, cpu=cpu))


def hcr(cpu):
    return aarch64.read_sysreg("HCR_EL2", cpu=cpu)


results = {}
timer = machine.Timer(period=1, callback=tick)
try:
    # Timers and Ctrl-C on CPU 0
    results["HCR_EL2 = 0"] = write("HCR_EL2", 0) + (timer_fires(),)
    results["HCR_EL2 = 0x28"] = write("HCR_EL2", 0x28) + (timer_fires(),)
    results["DAIF = I"] = write("DAIF", 0x80) + (timer_fires(),)
    results["CNTHP_CTL_EL2 = 0"] = write("CNTHP_CTL_EL2", 0) + (timer_fires(),)
    results["CNTHP_CTL_EL2 = IMASK"] = write("CNTHP_CTL_EL2", 3) + (timer_fires(),)
    results["CNTHP_CVAL_EL2 far"] = write("CNTHP_CVAL_EL2", 1 << 62) + (timer_fires(),)
    results["CNTHP_TVAL_EL2 far"] = write("CNTHP_TVAL_EL2", 0x7FFFFFFF) + (timer_fires(),)

    # VM set by hand, not through pcpu, on the host vectors: refused; the CPU stays disabled
    results["VM on host vectors"] = write("HCR_EL2", hcr(1) | VM | RW, 1) + (guest_exit(1),)
    # VM set by hand after the vCPU vectors: taken, a guest runs, and pcpu disables it
    write("VBAR_EL2", VCPU, 1)
    r = write("HCR_EL2", hcr(1) | VM | RW, 1) + (guest_exit(1),)
    pcpu.Aarch64PerCpu.new(1).hardware_disable()
    results["VM on vCPU vectors"] = r + (hex(hcr(1)), aarch64.read_sysreg("VBAR_EL2", cpu=1) == HOST)

    # An enabled CPU keeps what its guests need
    p2 = pcpu.Aarch64PerCpu.new(2)
    p2.hardware_enable()
    results["enabled: VBAR_EL2 = HOST_VECTORS"] = write("VBAR_EL2", HOST, 2) + (guest_exit(2),)
    results["enabled: RW cleared"] = write("HCR_EL2", hcr(2) & ~RW, 2) + (guest_exit(2),)
    results["enabled: TGE set"] = write("HCR_EL2", hcr(2) | TGE, 2) + (guest_exit(2),)
    results["enabled: IMO cleared"] = write("HCR_EL2", hcr(2) & ~IMO, 2) + (guest_exit(2),)
    p2.hardware_disable()

    # The host vectors are never lost: the vCPU table put in by hand, then enable and disable
    write("VBAR_EL2", VCPU, 3)
    p3 = pcpu.Aarch64PerCpu.new(3)
    p3.hardware_enable()
    p3.hardware_disable()
    results["VCPU_VECTORS by hand, enable, disable"] = (aarch64.read_sysreg("VBAR_EL2", cpu=3) == HOST,)

    # Registers named by encoding
    for enc, what in (((3, 0, 4, 2, 0), "SPSel"), ((3, 3, 4, 4, 0), "FPCR"), ((3, 4, 2, 0, 0), "TTBR0_EL2"),
                      ((3, 4, 2, 0, 2), "TCR_EL2"), ((3, 4, 12, 0, 2), "RMR_EL2"),
                      ((3, 1, 15, 2, 0), "CPUACTLR_EL1"), ((3, 6, 12, 0, 0), "VBAR_EL3")):
        results["%s by encoding = 0" % what] = write(enc, 0, 1) + (timer_fires(),)
    dbgbvr0 = (2, 0, 0, 0, 4)        # a debug register: breakpoint 0's address (its control keeps it off)
    before = aarch64.read_sysreg(dbgbvr0, cpu=1)
    results["DBGBVR0_EL1 by encoding"] = write(dbgbvr0, before ^ 0x1000, 1) + (
        aarch64.read_sysreg(dbgbvr0, cpu=1) == before ^ 0x1000,)
    write(dbgbvr0, before, 1)
    results["every CPU answers"] = (all(aarch64.read_sysreg("MPIDR_EL1", cpu=c) & 0xFF == c
                                        for c in range(aarch64.cpu_count())), timer_fires())
finally:
    timer.deinit()
print(repr(results))
