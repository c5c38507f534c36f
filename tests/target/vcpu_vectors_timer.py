# EL2 timer IRQs on a secondary CPU whose VBAR_EL2 holds the vCPU vectors:
# they go through that CPU's IRQ_HANDLER. CALLBACK chooses what fills it:
#   "none"    nothing: each IRQ is counted, reported once ("no IRQ_HANDLER")
#             and serviced by the host handler
#   "record"  an aarch64.IrqHandler whose callback records (its argument,
#             the CPU it runs on): Python callbacks run on CPU 0
#   "raise"   an aarch64.IrqHandler whose callback raises ValueError: each
#             one is printed and the IRQs go on
# Prints {"before", "after": aarch64.irq_counts(CPU) (through IRQ_HANDLER,
# all, with no handler, timer ticks), "callbacks": how many ran, "where": the
# (argument, CPU) pairs seen}.
import aarch64, time

CPU = globals().get("CPU", 1)
HZ = globals().get("HZ", 100)
MS = globals().get("MS", 100)
CALLBACK = globals().get("CALLBACK", "record")
SETTLE_MS = globals().get("SETTLE_MS", 20)     # for callbacks still queued


def record(cpu):
    seen.append((cpu, aarch64.cpu_id()))


def boom(cpu):
    raise ValueError("callback for CPU %d" % cpu)


seen = []
if CALLBACK != "none":
    aarch64.set_irq_handler(aarch64.IrqHandler({"record": record, "raise": boom}[CALLBACK]), CPU)
aarch64.write_sysreg("VBAR_EL2", aarch64.VCPU_VECTORS, cpu=CPU)
before = aarch64.irq_counts(CPU)
aarch64.cpu_timer(CPU, HZ)
time.sleep_ms(MS)
aarch64.cpu_timer(CPU, 0)
time.sleep_ms(SETTLE_MS)
print(repr({"before": before, "after": aarch64.irq_counts(CPU), "callbacks": len(seen),
            "where": sorted(set(seen))}))
