"""Interrupts and the console of a VM, as the test guest sees them
(guests/testguest/timing.c): mode=vtimer drives the virtual GIC itself and
takes the virtual timer's interrupt N times while idling in WFI; mode=console
writes N bytes to the PL011 model. Here what they deliver is checked (no
timing: the figures are `make bench`'s, under -icount, host_tools/bench.py);
the guest's own lines, under plain QEMU, prove the guest first."""
import os
import re
import subprocess

import pytest

from conftest import target_result
from host_tools import bench
from test_testguest import BIN, QEMU, require
from test_vm import LOADER_ADDRESS, GUEST, guest_machine, guest_target  # noqa: F401 (fixtures)

VTIMER_N = 20
CONSOLE_N = 300
# The bytes mode=console writes: printable ASCII in turn, no line ends.
CONSOLE_BYTES = "".join(chr(0x20 + i % 95) for i in range(CONSOLE_N))


def run_mode(t, board, mode):
    return target_result(t, "vm_testguest.py", timeout=300, ADDRESS=LOADER_ADDRESS[board],
                         SIZE=os.path.getsize(GUEST), MODE=mode, MS=240_000)


def check_vtimer(out, n):
    lines = out.splitlines()
    assert "testguest: vtimer: took %d interrupts with INTID 27 from GICC_IAR, 0 with another INTID, " \
           "0 spurious (of %d asked): ok" % (n, n) in lines, out
    assert re.search(r"^testguest: vtimer: latency ticks min \d+ median \d+ max \d+ \(%d samples\)$" % n,
                     out, re.M), out
    assert "testguest: PASS" in lines, out


def check_console(out, n, payload):
    lines = out.splitlines()
    i = lines.index("testguest: console: %d bytes follow, then a line end" % n)
    assert lines[i + 1] == payload                      # every byte, in order, nothing between
    assert re.match(r"testguest: console: %d bytes in \d+ ticks; the same loop to RAM \d+ ticks; "
                    r"counter \d+ Hz$" % n, lines[i + 2]), out
    assert "testguest: PASS" in lines, out


def test_the_guest_modes_under_plain_qemu():
    # QEMU virt's own GICv2 and PL011: the guest's side of both modes is right.
    for mode, check in (("mode=vtimer n=%d" % VTIMER_N, lambda o: check_vtimer(o, VTIMER_N)),
                        ("mode=console n=%d" % CONSOLE_N, lambda o: check_console(o, CONSOLE_N, CONSOLE_BYTES))):
        r = subprocess.run(QEMU + ["-smp", "1", "-kernel", str(require(BIN)), "-append", "console=ttyAMA0 " + mode],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        check(r.stdout.decode().replace("\r\n", "\n"))


def test_the_guest_takes_n_virtual_timer_interrupts_with_intid_27(guest_target, board):
    reason, status, vcpu, _, out, _ = run_mode(guest_target, board, "mode=vtimer n=%d" % VTIMER_N)
    assert (reason, status, vcpu) == ("system_off", 0, 0), out
    check_vtimer(out.replace("\r\n", "\n"), VTIMER_N)
    assert guest_target.eval("6 * 7") == 42


def test_console_bytes_arrive_in_order(guest_target, board):
    reason, status, _, _, out, _ = run_mode(guest_target, board, "mode=console n=%d" % CONSOLE_N)
    assert (reason, status) == ("system_off", 0), out
    check_console(out.replace("\r\n", "\n"), CONSOLE_N, CONSOLE_BYTES)


CONSOLE_RUNS_CODE = """
import io, vm
def run(batched):
    with vm.VM(ram=64 << 20, cmdline="console=ttyAMA0 mode=console n=%(n)d", console_out=io.BytesIO()) as v:
        calls = [0]
        if batched:
            f = v.uart.write_bytes
            def counted(offset, data):
                calls[0] += 1
                f(offset, data)
            v.uart.write_bytes = counted
        else:
            v.uart.write_bytes = None       # a model without it: write() for each byte
        v.load(address=%(address)d, size=%(size)d)
        stop = v.run(timeout_ms=240000, console=False)
        return stop.reason, stop.status, calls[0], v.uart.out.getvalue().decode()
print(repr([run(True), run(False)]))
"""


def test_posted_console_bytes_reach_the_model_in_runs(guest_target, board):
    # The PL011 model's DR writes are posted; CPU 0 hands each run of them
    # to write_bytes() as one call (a Linux boot writes 13,000 of them).
    # Without write_bytes, write() takes them one by one: the same output.
    import ast
    code = CONSOLE_RUNS_CODE % {"n": CONSOLE_N, "address": LOADER_ADDRESS[board], "size": os.path.getsize(GUEST)}
    batched, single = ast.literal_eval(guest_target.exec(code, timeout=600).strip())
    for reason, status, _, out in (batched, single):
        assert (reason, status) == ("system_off", 0), out
        check_console(out.replace("\r\n", "\n"), CONSOLE_N, CONSOLE_BYTES)
    assert 1 <= batched[2] < CONSOLE_N, batched[2]      # runs of more than one byte (the guest outpaces Python)
    assert single[2] == 0


def test_the_bench_gives_both_figures(board):
    # make bench's function, with small counts: it returns every figure
    # (their values are the bench's business, not a test's).
    figures = bench.vm_guest_figures(board, vtimer_n=10, console_n=100)
    assert set(figures) == set(bench.VM_GUEST_FIGURES)
    assert all(isinstance(v, float) for v in figures.values()), figures
    # The long-write figure is a difference (200 bytes' cost less 100 bytes'):
    # at these small counts CPU 0's own work, which the machine-wide virtual
    # counter also counts, can outweigh it either way (once -5446 per byte);
    # make bench measures it at 2048 bytes. The others are counts of one path.
    assert all(figures[k] > 0 for k in bench.VM_GUEST_FIGURES if k != "vm_console_byte_insns"), figures
