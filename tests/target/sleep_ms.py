# time.sleep_ms() follows the generic timer. Prints the milliseconds
# time.ticks_ms() saw pass while sleeping MS.
import time

MS = globals().get("MS", 200)

t0 = time.ticks_ms()
time.sleep_ms(MS)
print(repr(time.ticks_diff(time.ticks_ms(), t0)))
