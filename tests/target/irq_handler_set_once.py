# set_irq_handler() fills a CPU's IRQ_HANDLER once. Prints (the first call's
# result, the second's, the handler is still the first).
import aarch64

print(repr((aarch64.set_irq_handler(aarch64.HOST_IRQ_HANDLER),
            aarch64.set_irq_handler(aarch64.IrqHandler(print)),
            aarch64.get_irq_handler() is aarch64.HOST_IRQ_HANDLER)))
