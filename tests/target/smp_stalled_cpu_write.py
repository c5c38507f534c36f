# A register write on a CPU that does not answer the cross-call in time is
# OSError(ETIMEDOUT) and changes nothing. CPU `CPU` is stalled for STALL_MS.
# Prints the OSError's errno (None if the write went through).
import aarch64, sysregs, time

CPU = globals().get("CPU", 1)
STALL_MS = globals().get("STALL_MS", 2500)

aarch64.stall_cpu(CPU, STALL_MS)
try:
    aarch64.write_sysreg("HCR_EL2", sysregs.mask("HCR_EL2", "IMO", "FMO", "AMO", "TWI"), cpu=CPU)
    errno = None
except OSError as e:
    errno = e.errno
time.sleep_ms(STALL_MS + 100)      # the stalled CPU is back before the next command
print(repr(errno))
