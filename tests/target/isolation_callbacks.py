# Python callbacks keep running while a guest runs: a 1 kHz machine.Timer
# during guest runs on CPU 0 (between entries) and on CPU 1 (while CPU 0
# waits). Prints [(cpu, callbacks during the runs, ms elapsed)].
import machine, pcpu, time, vcpu
from vcpu import A64, code

MS = globals().get("MS", 300)
result = []
for cpu in (0, 1):
    pcpu.Aarch64PerCpu.new(cpu).hardware_enable()
    n = [0]
    def tick(t):
        n[0] += t.periods()
    with vcpu.Aarch64VCpu(code(A64.b(0)), cpu_id=cpu) as v:
        tm = machine.Timer(period=1, callback=tick)
        t0 = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t0) < MS:
            v.run(timeout_ms=MS)
        ms = time.ticks_diff(time.ticks_ms(), t0)
        during = n[0]
        tm.deinit()
    result.append((cpu, during, ms))
    pcpu.Aarch64PerCpu.new(cpu).hardware_disable()
print(repr(result))
