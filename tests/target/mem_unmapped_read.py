# A machine.mem8 read of an unmapped address is an OSError (EFAULT) carrying
# ESR_EL2. Prints (errno, ESR_EL2); nothing if the read did not fault.
import machine

ADDRESS = globals().get("ADDRESS", 0x10_0000_0000)

try:
    machine.mem8[ADDRESS]
except OSError as e:
    print(repr((e.errno, e.esr)))
