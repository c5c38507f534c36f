# A cross-call whose target CPU stalls around the call's deadline must say
# truthfully whether its write happened: success means it landed, ETIMEDOUT
# means it did not, EINPROGRESS that it may have.
# STALLS: [(ms, in_call)]; in_call: the CPU stalls inside the call, after
# starting it, else before it (it never starts it in time).
# Prints [(ms, in_call, errno or 0, landed, waited ms)].
import aarch64, time

CPU = globals().get("CPU", 1)
STALLS = globals().get("STALLS", [(400, False), (300, True)])


def attempt(ms, in_call, value):
    aarch64.write_sysreg("TPIDR_EL2", 0, cpu=CPU)
    aarch64.stall_cpu(CPU, ms, in_call=in_call)
    t0 = time.ticks_ms()
    try:
        aarch64.write_sysreg("TPIDR_EL2", value, cpu=CPU)
        err = 0
    except OSError as e:
        err = e.errno
    waited = time.ticks_diff(time.ticks_ms(), t0)
    # Whatever the CPU was doing ends by now; then look at the register.
    deadline = time.ticks_add(time.ticks_ms(), ms + 2000)
    while True:
        try:
            landed = aarch64.read_sysreg("TPIDR_EL2", cpu=CPU) == value
            break
        except OSError:
            if time.ticks_diff(deadline, time.ticks_ms()) < 0:
                raise
    return (ms, in_call, err, landed, waited)


print(repr([attempt(ms, in_call, 0x5EED0000 + i) for i, (ms, in_call) in enumerate(STALLS)]))
