# EL2 timer IRQs on one enabled secondary CPU go through that CPU's
# IRQ_HANDLER only. Prints, for CPUs 1..3, how many IRQs went through each
# one's IRQ_HANDLER while CPU `CPU` took HZ timer IRQs for MS milliseconds.
import aarch64, pcpu, time

CPU = globals().get("CPU", 3)
HZ = globals().get("HZ", 1000)
MS = globals().get("MS", 100)

cpus = [pcpu.Aarch64PerCpu.new(c) for c in range(aarch64.cpu_count())]
cpus[CPU].hardware_enable()
secondaries = range(1, len(cpus))
before = [aarch64.irq_counts(c)[0] for c in secondaries]
aarch64.cpu_timer(CPU, HZ)
time.sleep_ms(MS)
aarch64.cpu_timer(CPU, 0)
after = [aarch64.irq_counts(c)[0] for c in secondaries]
print(repr([a - b for a, b in zip(after, before)]))
