# machine.Timer callbacks, counted over a while: prints how many ran.
import machine, time

PERIOD_MS = globals().get("PERIOD_MS", 10)
DURATION_MS = globals().get("DURATION_MS", 500)

n = 0


def tick(t):
    global n
    n += t.periods()


t = machine.Timer(period=PERIOD_MS, callback=tick)
time.sleep_ms(DURATION_MS)
t.deinit()
print(repr(n))
