# A busy prompt stand-in: with Ctrl-C as a plain input byte, waits WAIT_MS
# (input typed meanwhile queues in the 4 KiB buffer), then reads stdin up to
# the first Ctrl-C. Prints how many bytes came before it.
import micropython, sys, time

WAIT_MS = globals().get("WAIT_MS", 1500)

micropython.kbd_intr(-1)
time.sleep_ms(WAIT_MS)
n = 0
while sys.stdin.read(1) != "\x03":
    n += 1
micropython.kbd_intr(3)
print(repr(n))
