# HCR_EL2.IMO: the host's timer IRQ, taken while a guest spins, exits to EL2
# and the host's machine.Timer callback runs. Prints (what the callback
# recorded, the kind of the last exit, the guest's PC).
import pcpu, vcpu, machine, time
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
v = vcpu.Aarch64VCpu(code(A64.b(0)))
fired = []
kinds = []
t = machine.Timer(mode=machine.Timer.ONE_SHOT, period=20, callback=lambda t: fired.append(1))
while not fired and len(kinds) < 100:
    kinds.append(v.run(timeout_ms=1000).kind)
    time.sleep_ms(1)        # the scheduler runs the callback here
print(repr((fired, kinds[-1], v.pc)))
