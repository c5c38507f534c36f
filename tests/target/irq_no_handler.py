# Timer IRQs on the vCPU vectors of a CPU with no IRQ_HANDLER are counted,
# reported once ("no IRQ_HANDLER") and serviced by the host handler. Prints
# that CPU's aarch64.irq_counts(): (through IRQ_HANDLER, all, with no
# handler, timer ticks) after 100 ms at 200 Hz.
import aarch64, time

CPU = globals().get("CPU", 1)

aarch64.write_sysreg("VBAR_EL2", aarch64.VCPU_VECTORS, cpu=CPU)
aarch64.cpu_timer(CPU, 200)
time.sleep_ms(100)
aarch64.cpu_timer(CPU, 0)
print(repr(aarch64.irq_counts(CPU)))
