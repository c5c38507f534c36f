# An IrqHandler callback is told how many interrupts it stands for: the
# counts it receives add up to the IRQs taken through IRQ_HANDLER.
# Prints (sum of counts, IRQs through IRQ_HANDLER, calls).
import aarch64, time

CPU = globals().get("CPU", 1)
HZ = globals().get("HZ", 5000)
got = [0, 0]
def cb(cpu, count):
    got[0] += count
    got[1] += 1
aarch64.set_irq_handler(aarch64.IrqHandler(cb), cpu=CPU)
aarch64.write_sysreg("VBAR_EL2", aarch64.VCPU_VECTORS, cpu=CPU)
before = aarch64.irq_counts(CPU)[0]
aarch64.cpu_timer(CPU, HZ)
time.sleep_ms(200)
aarch64.cpu_timer(CPU, 0)
# The last callbacks run on CPU 0 a little later: wait for them (2 s at most).
for _ in range(200):
    time.sleep_ms(10)
    through = aarch64.irq_counts(CPU)[0] - before
    if got[0] == through:
        break
aarch64.write_sysreg("VBAR_EL2", aarch64.HOST_VECTORS, cpu=CPU)
print(repr((got[0], through, got[1])))
