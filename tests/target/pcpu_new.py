# Aarch64PerCpu.new(CPU) for any CPU value, a bad one included (a bad one
# raises AxError(InvalidInput)). Prints the new per-CPU object's cpu_id.
import pcpu

CPU = globals().get("CPU", 0)

print(repr(pcpu.Aarch64PerCpu.new(CPU).cpu_id))
