# An exception in a machine.Timer callback is printed (ZeroDivisionError) and
# the other timers go on. Prints how many times a 10 ms timer ran in MS.
import machine, time

MS = globals().get("MS", 200)

good = []
bad = machine.Timer(mode=machine.Timer.ONE_SHOT, period=5, callback=lambda t: 1 / 0)
ok = machine.Timer(period=10, callback=lambda t: good.append(1))
time.sleep_ms(MS)
ok.deinit()
print(repr(len(good)))
