# The soak: CYCLES enable/disable cycles, round robin over every CPU, while
# CPU 0 runs a 1 kHz machine.Timer and every other CPU takes 1 kHz EL2 timer
# IRQs. Prints (every CPU's VBAR_EL2 and HCR_EL2 as before, is_enabled() per
# CPU, ms the cycles took, Timer callbacks run, timer ticks per secondary CPU,
# bytes the heap lost).
import aarch64, pcpu, machine, time, gc

CYCLES = globals().get("CYCLES", 10000)

cpus = [pcpu.Aarch64PerCpu.new(c) for c in range(aarch64.cpu_count())]
secondaries = range(1, len(cpus))
regs = lambda: [(aarch64.read_sysreg("VBAR_EL2", c), aarch64.read_sysreg("HCR_EL2", c)) for c in range(len(cpus))]
before = regs()
n = 0


def tick(t):
    global n
    n += t.periods()


tm = machine.Timer(period=1, callback=tick)
for c in secondaries:
    aarch64.cpu_timer(c, 1000)
ticks0 = [aarch64.irq_counts(c)[3] for c in secondaries]
gc.collect()
free0 = gc.mem_free()
t0 = time.ticks_ms()
for i in range(CYCLES):
    p = cpus[i % len(cpus)]
    p.hardware_enable()
    p.hardware_disable()
ms = time.ticks_diff(time.ticks_ms(), t0)
gc.collect()
free1 = gc.mem_free()
tm.deinit()
for c in secondaries:
    aarch64.cpu_timer(c, 0)
ticks = [aarch64.irq_counts(c)[3] - t for c, t in zip(secondaries, ticks0)]
print(repr((before == regs(), [p.is_enabled() for p in cpus], ms, n, ticks, free0 - free1)))
