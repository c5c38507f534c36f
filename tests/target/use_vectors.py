# Point one CPU's VBAR_EL2 at the firmware's "vcpu" or "host" vector table.
# An IRQ taken on the vCPU table goes through the CPU's IRQ_HANDLER, so for
# "vcpu" the firmware's host IRQ handler fills it first. Prints VBAR_EL2.
import aarch64

CPU = globals().get("CPU", 0)
VECTORS = globals().get("VECTORS", "vcpu")

if VECTORS == "vcpu":
    aarch64.set_irq_handler(aarch64.HOST_IRQ_HANDLER, CPU)
aarch64.write_sysreg("VBAR_EL2", getattr(aarch64, VECTORS.upper() + "_VECTORS"), CPU)
print(repr(aarch64.read_sysreg("VBAR_EL2", CPU)))
