# hardware_enable() and hardware_disable() on one CPU, step by step. Prints a
# list with that CPU's state just after Aarch64PerCpu.new(CPU) and after each
# step: (VBAR_EL2, HCR_EL2, is_enabled(), ORI_EXCEPTION_VECTOR_BASE[CPU]).
# `p` stays for the next command.
import aarch64, pcpu

CPU = globals().get("CPU", 0)
STEPS = globals().get("STEPS", ("enable", "disable"))

p = pcpu.Aarch64PerCpu.new(CPU)
state = lambda: (aarch64.read_sysreg("VBAR_EL2", CPU), aarch64.read_sysreg("HCR_EL2", CPU),
                 p.is_enabled(), pcpu.ORI_EXCEPTION_VECTOR_BASE[CPU])
states = [state()]
for step in STEPS:
    getattr(p, "hardware_" + step)()
    states.append(state())
print(repr(states))
