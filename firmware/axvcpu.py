# The traits the per-CPU state is written against, as the reference's axvcpu
# crate has them: AxArchPerCpu (what every architecture's per-CPU state
# offers) and AxVCpuHal (the hardware abstraction whose irq_handler() is the
# host OS's IRQ handler).
import aarch64
from axerrno import AxError


class AxArchPerCpu:
    """The protocol every architecture's per-CPU state implements."""

    @classmethod
    def new(cls, cpu_id):
        raise NotImplementedError

    def is_enabled(self):
        raise NotImplementedError

    def hardware_enable(self):
        raise NotImplementedError

    def hardware_disable(self):
        raise NotImplementedError


class AxVCpuHal:
    """irq_handler() is the host OS's IRQ handler. The default is the
    firmware's own (aarch64.HOST_IRQ_HANDLER); a Python callable is also
    accepted: the host handler services the IRQ, then the callable is
    scheduled with the CPU id."""

    def irq_handler(self):
        return aarch64.HOST_IRQ_HANDLER

    def irq_hanlder(self):
        # The reference's spelling, so a HAL written against it works.
        return self.irq_handler()


def hal_irq_handler(hal):
    """The aarch64.IrqHandler a HAL (class or instance) gives for IRQ_HANDLER."""
    if isinstance(hal, type):
        hal = hal()
    spelled = getattr(hal, "irq_handler", None)
    misspelled = getattr(hal, "irq_hanlder", None)
    if isinstance(hal, AxVCpuHal) and type(hal).irq_handler is AxVCpuHal.irq_handler:
        spelled = None  # only the reference's spelling may be overridden
    fn = spelled or misspelled
    if fn is None:
        raise AxError(AxError.InvalidInput, "HAL %r has no irq_handler()" % (hal,))
    handler = fn()
    if isinstance(handler, aarch64.IrqHandler):
        return handler
    if callable(handler):
        return aarch64.IrqHandler(handler)
    raise AxError(AxError.InvalidInput, "irq_handler() returned %r, not a handler" % (handler,))
