# hardware_enable() and hardware_disable() on one CPU, step by step, with that
# CPU's state after each step. Prints a list of dicts, the first for the state
# just after Aarch64PerCpu.new(CPU): {"step", "vbar", "hcr", "enabled",
# "saved_vbar" (ORI_EXCEPTION_VECTOR_BASE)}. `p` stays for the next command.
import aarch64, pcpu

CPU = globals().get("CPU", 0)
STEPS = globals().get("STEPS", ("enable", "disable"))
HOST_HCR_BITS = globals().get("HOST_HCR_BITS", 0)     # set by the host before new()

if HOST_HCR_BITS:
    aarch64.write_sysreg("HCR_EL2", aarch64.read_sysreg("HCR_EL2", CPU) | HOST_HCR_BITS, CPU)
p = pcpu.Aarch64PerCpu.new(CPU)


def state(step):
    return {"step": step, "vbar": aarch64.read_sysreg("VBAR_EL2", CPU),
            "hcr": aarch64.read_sysreg("HCR_EL2", CPU), "enabled": p.is_enabled(),
            "saved_vbar": pcpu.ORI_EXCEPTION_VECTOR_BASE[CPU]}


states = [state("new")]
for step in STEPS:
    {"enable": p.hardware_enable, "disable": p.hardware_disable}[step]()
    states.append(state(step))
print(repr(states))
