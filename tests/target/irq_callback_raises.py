# An exception in an aarch64.IrqHandler callback is printed, each time, and
# the IRQs go on. Prints how many IRQs on CPU `CPU` went through its
# IRQ_HANDLER in 100 ms at 100 Hz.
import aarch64, time

CPU = globals().get("CPU", 1)


def boom(cpu, n):
    raise ValueError("callback for CPU %d" % cpu)


aarch64.set_irq_handler(aarch64.IrqHandler(boom), cpu=CPU)
aarch64.write_sysreg("VBAR_EL2", aarch64.VCPU_VECTORS, cpu=CPU)
before = aarch64.irq_counts(CPU)[0]
aarch64.cpu_timer(CPU, 100)
time.sleep_ms(100)
aarch64.cpu_timer(CPU, 0)
time.sleep_ms(20)       # the callbacks still queued run
print(repr(aarch64.irq_counts(CPU)[0] - before))
