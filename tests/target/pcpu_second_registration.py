# IRQ_HANDLER is set once: a second new() with a HAL of its own keeps the
# first registration. Prints whether CPU 0's handler is still the host's.
import aarch64, pcpu


class Hal(pcpu.AxVCpuHal):
    def irq_handler(self):
        return print


pcpu.Aarch64PerCpu.new(0)
pcpu.Aarch64PerCpu.new(0, Hal())
print(repr(pcpu.IRQ_HANDLER.get(0) is aarch64.HOST_IRQ_HANDLER))
