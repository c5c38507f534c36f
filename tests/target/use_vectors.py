# Point one CPU's VBAR_EL2 at the firmware's host or vCPU vector table. An IRQ
# taken on the vCPU table goes through that CPU's IRQ_HANDLER, so HANDLER=True
# fills it with the firmware's host IRQ handler first. Prints (VBAR_EL2 is
# the table asked for, the CPU has an IRQ handler).
import aarch64

CPU = globals().get("CPU", 0)
VECTORS = globals().get("VECTORS", "vcpu")
HANDLER = globals().get("HANDLER", True)

table = {"vcpu": aarch64.VCPU_VECTORS, "host": aarch64.HOST_VECTORS}[VECTORS]
if HANDLER:
    aarch64.set_irq_handler(aarch64.HOST_IRQ_HANDLER, CPU)
aarch64.write_sysreg("VBAR_EL2", table, CPU)
print(repr((aarch64.read_sysreg("VBAR_EL2", CPU) == table, aarch64.get_irq_handler(CPU) is not None)))
