# pcpu.status() with every CPU registered and some enabled. Prints
# {"rows": status().rows, "table": the text the REPL shows}.
import aarch64, pcpu

ENABLED = globals().get("ENABLED", (1,))

for c in range(aarch64.cpu_count()):
    pcpu.Aarch64PerCpu.new(c)
for c in ENABLED:
    pcpu.Aarch64PerCpu.new(c).hardware_enable()
print(repr({"rows": pcpu.status().rows, "table": repr(pcpu.status())}))
