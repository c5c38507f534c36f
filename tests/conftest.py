"""Fixtures: the firmware under test, booted in QEMU and reached over its UART
exactly as a user's script would (host_tools.connect, mpremote, pyserial).

Every on-target test runs on both boards: QEMU `virt` (QEMU_VIRT) and the
Raspberry Pi 4 image on QEMU `raspi4b` (RPI4). `pytest --board QEMU_VIRT`
limits the run to one board; `pytest --port /dev/ttyUSB0` runs them on a
board instead, skipping (with the reason) the tests that need QEMU.

The MicroPython a test runs on the target lives in tests/target/, one file per
behaviour, each runnable by hand with `mpremote run` (see tests/README.md);
run_target_file() sends one and returns what it printed.
"""
import ast
import io
import subprocess
import sys
import time
import tokenize
from pathlib import Path

import pytest
import serial

from host_tools.qemu import Qemu
# The fixtures (board, machine, target, boot, firmware, target_port,
# pcpu_sim) and --board/--port: the plugin this project ships (entry point
# pytest11, registered under its module's name so this line and the entry
# point load it once).
from host_tools.pytest_plugin import ALL_BOARDS, qemu_url, require_image   # noqa: F401 (tests import them from here)

pytest_plugins = ["host_tools.pytest_plugin"]
TARGET_DIR = Path(__file__).resolve().parent / "target"


# The installed command line, next to this interpreter (the venv's).
CLI = str(Path(sys.executable).with_name("aarch64-el2"))


def cli(*args):
    """aarch64-el2 with `args`, no stdin: the CompletedProcess (text)."""
    return subprocess.run([CLI] + [str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)


def _without_comments(text):
    """The lines of `text` with every comment cut off (found by Python's own
    tokenizer, so a '#' inside a string stays); line numbers are kept."""
    lines = text.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            lines[row - 1] = lines[row - 1][:col].rstrip()
    return lines


def target_source(name, **params):
    """The text of tests/target/<name> to send, with `params` assigned as
    globals ahead of it: the file reads each with globals().get(NAME,
    default), so the same file runs by hand with its defaults.

    Comments are not sent: a byte typed into the UART costs about 10 us,
    so a hundred bytes cost as much as a whole round trip. The assignments take the place
    of the file's first line, its opening comment, so a target traceback's
    line numbers are the file's own.

    A line `from helper import *` naming another file of tests/target/ (such
    as vm_asm.py) becomes one exec() of that file's text, on the same line,
    as the target has no such module."""
    lines = _without_comments((TARGET_DIR / name).read_text())
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) == 4 and words[0] == "from" and words[2:] == ["import", "*"] \
                and (TARGET_DIR / (words[1] + ".py")).exists():
            helper = "\n".join(_without_comments((TARGET_DIR / (words[1] + ".py")).read_text()))
            lines[i] = "exec(%r)" % helper
    assignments = "; ".join("%s = %r" % kv for kv in params.items())
    if lines and lines[0] == "":
        lines[0] = assignments
    elif assignments:
        lines.insert(0, assignments)
    return "\n".join(lines) + "\n"


def run_target_file(target, name, timeout=None, **params):
    """Run tests/target/<name> on `target`; everything it printed, as str.
    The globals it sets stay for the next command until a soft reset."""
    return target.exec(target_source(name, **params), timeout)


def printed_result(output):
    """The result a target file printed last: the repr of a literal."""
    lines = output.strip().splitlines()
    if not lines:
        raise AssertionError("the target file printed nothing")
    return ast.literal_eval(lines[-1])


def target_result(target, name, timeout=None, **params):
    """Run tests/target/<name> and parse the result it printed last."""
    return printed_result(run_target_file(target, name, timeout, **params))


class Console:
    """The friendly REPL over a raw pyserial port, for typing as a person does."""

    def __init__(self, qemu):
        self.qemu = qemu
        self.port = serial.Serial(qemu.port, 115200, timeout=0.1)
        self.buffer = b""

    def send(self, text):
        self.port.write(text.encode() if isinstance(text, str) else text)

    def expect(self, marker, timeout=5.0):
        """Read until `marker` appears; return everything read up to it."""
        marker = marker.encode() if isinstance(marker, str) else marker
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            if time.monotonic() > deadline:
                raise AssertionError("no %r within %.1f s; got %r" % (marker, timeout, self.buffer[-300:]))
            self.buffer += self.port.read(4096)
        head, _, self.buffer = self.buffer.partition(marker)
        return (head + marker).decode(errors="replace")

    def close(self):
        self.port.close()
        self.qemu.stop()


@pytest.fixture
def console(board):
    require_image(board)
    c = Console(Qemu(board))
    c.expect(">>> ", timeout=10)
    yield c
    c.close()


# Lines for the end of the run: MicroPython's own suite's counts per board
# (tests/test_micropython_suite.py).
SUMMARY_LINES = pytest.StashKey()


def pytest_terminal_summary(terminalreporter, config):
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)
