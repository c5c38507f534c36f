# CPU 0 runs Python callbacks and cannot while it waits in C for a slow CPU;
# a 1 kHz machine.Timer's callbacks queue up meanwhile (MICROPY_SCHEDULER_DEPTH
# covers the 100 ms cross-call timeout) and all run afterwards. Prints
# (ms the read waited for the stalled CPU, callbacks run, ms elapsed).
import aarch64, machine, time

CPU = globals().get("CPU", 1)
STALL_MS = globals().get("STALL_MS", 80)

calls = [0]       # a counter the callback changes in place: it allocates nothing


def tick(t):
    calls[0] += t.periods()     # periods this call stands for


tm = machine.Timer(period=1, callback=tick)
time.sleep_ms(20)
n0, t0 = calls[0], time.ticks_ms()
aarch64.stall_cpu(CPU, STALL_MS)
aarch64.read_sysreg("MPIDR_EL1", cpu=CPU)
waited = time.ticks_diff(time.ticks_ms(), t0)
time.sleep_ms(5)
ticks, ms = calls[0] - n0, time.ticks_diff(time.ticks_ms(), t0)
tm.deinit()
print(repr((waited, ticks, ms)))
