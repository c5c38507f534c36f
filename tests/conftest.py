"""Fixtures: the firmware under test, booted in QEMU and reached over its UART
exactly as a user's script would (host_tools.connect, mpremote, pyserial).

Every on-target test runs on both boards: QEMU `virt` (QEMU_VIRT) and the
Raspberry Pi 4 image on QEMU `raspi4b` (RPI4). `pytest --board QEMU_VIRT`
limits the run to one board.

The MicroPython a test runs on the target lives in tests/target/, one file per
behaviour, each runnable by hand with `mpremote run` (see tests/README.md);
run_target_file() sends one and returns what it printed.
"""
import ast
import io
import time
import tokenize
from pathlib import Path

import pytest
import serial

from host_tools import boards, connect
from host_tools.elf import Firmware
from host_tools.qemu import Qemu

ALL_BOARDS = list(boards.BOARDS)
TARGET_DIR = Path(__file__).resolve().parent / "target"


def pytest_addoption(parser):
    parser.addoption("--board", action="append", choices=ALL_BOARDS,
                     help="run the on-target tests on this board only (repeatable)")


def pytest_generate_tests(metafunc):
    if "board" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("board") or ALL_BOARDS
        metafunc.parametrize("board", chosen, scope="module")


def require_image(board):
    path = boards.image_path(board)
    if not path.exists():
        pytest.fail("%s is missing: run 'make firmware BOARD=%s' (make test does this)" % (path, board))
    return path


def qemu_url(board, smp=None):
    machine = {v: k for k, v in boards.MACHINES.items()}[board]
    return "qemu:%s%s" % (machine, "?smp=%d" % smp if smp else "")


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


@pytest.fixture(scope="module")
def firmware(board):
    """The board's firmware ELF, read with pyelftools."""
    require_image(board)
    return Firmware(boards.elf_path(board))


@pytest.fixture(scope="module")
def machine(board):
    """One booted target per test module (4 CPUs)."""
    require_image(board)
    t = connect(qemu_url(board), timeout=10)
    yield t
    t.close()


@pytest.fixture
def target(machine):
    """The module's target, soft-reset so each test starts from the boot state."""
    machine.soft_reset()
    return machine


@pytest.fixture
def boot(board):
    """Boot a target of your own: boot(smp=2)."""
    started = []

    def _boot(smp=None, **kw):
        require_image(board)
        t = connect(qemu_url(board, smp), **kw)
        started.append(t)
        return t

    yield _boot
    for t in started:
        t.close()


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
