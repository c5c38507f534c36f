# A guest at EL1 reads ICC_IAR1_EL1 (and writes ICC_EOIR1_EL1, ICC_PMR_EL1),
# the host's GICv3 CPU interface registers: each access is trapped to EL2
# (ICH_HCR_EL2.TALL1/TC) instead of acknowledging the host's interrupts.
# Prints [(EC, ISS) of each exit], then the host's timer callbacks still
# arriving afterwards (True).
import machine, pcpu, time, vcpu
from vcpu import A64, code

CPU = globals().get("CPU", 0)

ICC_IAR1_EL1 = (3, 0, 12, 12, 0)
ICC_EOIR1_EL1 = (3, 0, 12, 12, 1)
ICC_PMR_EL1 = (3, 0, 4, 6, 0)

pcpu.Aarch64PerCpu.new(CPU).hardware_enable()
exits = []
for insn in (A64.mrs(0, ICC_IAR1_EL1), A64.msr(ICC_EOIR1_EL1, 0), A64.msr(ICC_PMR_EL1, 0)):
    v = vcpu.Aarch64VCpu(code(insn, A64.hvc(1)), cpu_id=CPU)
    e = v.run()
    exits.append((e.ec, e.iss))
n = []
t = machine.Timer(period=5, callback=n.append)
deadline = time.ticks_add(time.ticks_ms(), 5000)
while len(n) < 5 and time.ticks_diff(deadline, time.ticks_ms()) > 0:
    time.sleep_ms(5)
t.deinit()
print(repr((exits, len(n) >= 5)))
