# An aarch64.IrqHandler's Python callback for IRQs taken on another CPU runs
# on CPU 0, the CPU that runs Python, with the IRQ's CPU as argument. Prints
# (callbacks run in 100 ms at 100 Hz, the (argument, CPU it ran on) pairs).
import aarch64, time

CPU = globals().get("CPU", 3)

seen = []
aarch64.set_irq_handler(aarch64.IrqHandler(lambda cpu, n: seen.append((cpu, aarch64.cpu_id()))), CPU)
aarch64.write_sysreg("VBAR_EL2", aarch64.VCPU_VECTORS, cpu=CPU)
aarch64.cpu_timer(CPU, 100)
time.sleep_ms(100)
aarch64.cpu_timer(CPU, 0)
print(repr((len(seen), sorted(set(seen)))))
