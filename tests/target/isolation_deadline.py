# A guest that switches off or postpones the EL1 physical timer cannot escape
# run(timeout_ms=...): the deadline is on the host's EL2 timer.
# Prints [(cpu, how, kind of the last exit, runs, ms)] for CPU 0 and CPU 1.
import pcpu, time, vcpu
from vcpu import A64, code

MS = globals().get("MS", 50)
GUESTS = {
    "cntp_off": code(A64.movz(0, 0), A64.msr("CNTP_CTL_EL0", 0), A64.ISB, A64.b(0)),
    "cntp_far": code(A64.movz(0, 0xFFFF, 48), A64.msr("CNTP_CVAL_EL0", 0), A64.movz(1, 1),
                     A64.msr("CNTP_CTL_EL0", 1), A64.ISB, A64.b(0)),
}
result = []
for cpu in (0, 1):
    pcpu.Aarch64PerCpu.new(cpu).hardware_enable()
    for how, guest in GUESTS.items():
        with vcpu.Aarch64VCpu(guest, cpu_id=cpu) as v:
            t0 = time.ticks_ms()
            runs, e = 1, v.run(timeout_ms=MS)
            while e.kind == "irq" and runs < 10000:     # host IRQs end a run early: go on
                runs, e = runs + 1, v.run(timeout_ms=MS)
            result.append((cpu, how, e.kind, runs, time.ticks_diff(time.ticks_ms(), t0)))
    pcpu.Aarch64PerCpu.new(cpu).hardware_disable()
print(repr(result))
