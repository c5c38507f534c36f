# A machine.mem8 read of an unmapped address is an OSError (EFAULT) carrying
# ESR_EL2. Prints (errno, ESR_EL2), or None if the read did not fault.
import machine

ADDRESS = globals().get("ADDRESS", 0x10_0000_0000)

try:
    machine.mem8[ADDRESS]
    fault = None
except OSError as e:
    fault = (e.errno, e.esr)
print(repr(fault))
