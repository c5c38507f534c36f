# The target resets itself in the middle of a command: machine.reset() after
# MS, then what would have been a long wait. Prints nothing: the host sees a
# boot banner instead of the end of the command.
import machine, time

MS = globals().get("MS", 100)

time.sleep_ms(MS)
machine.reset()
time.sleep(30)
