# CPU 0's machine.Timer ticking, for the register tests: start one with
# machine.Timer(period=1, callback=tick); timer_fires() says whether it
# ticks again within a second. Shared with `from timer_probe import *`.
import time

ticks = 0


def tick(t):
    global ticks
    ticks += 1


def timer_fires():
    """CPU 0's machine.Timer (1 kHz) ticks again within a second."""
    seen, t0 = ticks, time.ticks_ms()
    while ticks == seen:
        if time.ticks_diff(time.ticks_ms(), t0) > 1000:
            return False
    return True
