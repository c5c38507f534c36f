# ticks_us() and ticks_diff() for upstream MicroPython's ports/qemu board
# MPS2_AN385, which has no time module, so that tests/run-perfbench.py can
# time its benchmarks there too (make bench freezes this into that build
# only). The clock is the CMSDK APB timer 0 at 0x40000000, which QEMU's
# mps2-an385 clocks at 25 MHz and the port itself leaves unused: a 32-bit
# down-counter, started here with the largest reload value.
import machine

_TIMER0 = 0x40000000
_CTRL, _VALUE, _RELOAD = 0x0, 0x4, 0x8
_HZ = 25_000_000

if not machine.mem32[_TIMER0 + _CTRL] & 1:
    machine.mem32[_TIMER0 + _RELOAD] = 0xFFFFFFFF
    machine.mem32[_TIMER0 + _VALUE] = 0xFFFFFFFF
    machine.mem32[_TIMER0 + _CTRL] = 1


def ticks_us():
    # Elapsed 25 MHz ticks since the timer started, in microseconds; the
    # counter wraps after 171 s, longer than any benchmark.
    return (0xFFFFFFFF - machine.mem32[_TIMER0 + _VALUE]) // (_HZ // 1_000_000)


def ticks_diff(a, b):
    return a - b
