# A HAL written against the reference's spelling, irq_hanlder(), is used.
# Prints the repr of the handler registered for CPU 2, as a string.
import aarch64, pcpu


class RefHal(pcpu.AxVCpuHal):
    def irq_hanlder(self):
        return aarch64.IrqHandler(lambda cpu, n: None)


pcpu.Aarch64PerCpu.new(2, RefHal)
print(repr(repr(pcpu.IRQ_HANDLER.get(2))))
