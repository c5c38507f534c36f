# Every register of the table (firmware/sysregs.py) that this GICv2 machine
# implements, read by name. Prints {name: value}.
import aarch64, sysregs

NAMES = globals().get("NAMES", sorted(n for n, r in sysregs.REGISTERS.items() if "(GICv3)" not in r[6]))

print(repr({n: aarch64.read_sysreg(n) for n in NAMES}))
