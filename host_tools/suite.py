"""MicroPython's own test suite (tests/run-tests.py from the MicroPython tree)
against a target: our firmware in QEMU, or upstream's ports/qemu.

    from host_tools import suite
    counts = suite.run_board("QEMU_VIRT", micropy_top)     # a SuiteResult
    print(counts.summary())

Our firmware is booted in `shards` QEMUs at once, each running part of the
directories (run-tests.py runs one test at a time on a target); before a
shard starts, the small unittest stand-in (suite_lib/unittest.py; upstream's
lives in micropython-lib, which MicroPython's Debian source leaves out) is
copied into the target's RAM filesystem, where the tests' `import unittest`
finds it.
"""
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import serial

from . import boards
from .target_api import Target
from .qemu import Qemu

# The directories `make test` and `make bench` run, on every board.
SUITE_DIRS = ("basics", "micropython", "float", "misc", "extmod", "stress")
# Shards run side by side, each in its own QEMU: basics is about as long as
# the other five together.
SHARDS = (("basics",), ("micropython", "float", "misc", "extmod", "stress"))
# QEMU's guest clock counts instructions (16 ns each, a 62.5 MHz CPU) and
# skips idle waits: the suite's timing tests (machine_soft_timer, time_*,
# asyncio sleeps) measure the guest's clock, which otherwise follows the
# host's and takes in every delay in scheduling QEMU on a loaded machine; this
# way it is the same on any host, and idle sleeps cost no wall time. Not one
# instruction per ns: busy waits (time.sleep_us) would then cost 16 times
# the instructions, and time_time_ns.py's second of them over 10 s of wall time.
QEMU_CLOCK = ["-icount", "shift=4,sleep=off"]
UNITTEST = Path(__file__).resolve().parent / "suite_lib" / "unittest.py"
RUNNER = Path(__file__).resolve().parent / "suite_lib" / "runner"
DEFAULT_MICROPY_TOP = boards.BUILD / "deps" / "micropython-1.25.0"


@dataclass
class SuiteResult:
    """Counts as run-tests.py reports them, summed over shards."""
    performed: int = 0
    passed: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)
    seconds: float = 0.0
    output: str = ""
    again: list = field(default_factory=list)     # failed, then passed when run a second time

    def add(self, other):
        self.performed += other.performed
        self.passed += other.passed
        self.skipped += other.skipped
        self.failed += other.failed
        self.output += other.output
        self.again += other.again

    def summary(self):
        return "%d passed, %d failed, %d skipped (%d performed) in %.0f s%s" % (
            self.passed, len(self.failed), self.skipped, self.performed, self.seconds,
            "; passed only when run again: %s" % " ".join(self.again) if self.again else "")


def parse(output):
    """SuiteResult from run-tests.py's closing lines; ValueError if it gave none."""
    performed = re.search(r"^(\d+) tests performed", output, re.M)
    if not performed:
        raise ValueError("run-tests.py gave no summary:\n" + output[-3000:])
    passed = re.search(r"^(\d+) tests passed", output, re.M)
    skipped = re.search(r"^(\d+) tests skipped", output, re.M)
    failed = re.search(r"^\d+ tests failed: (.*)$", output, re.M)
    return SuiteResult(performed=int(performed.group(1)), passed=int(passed.group(1)),
                       skipped=int(skipped.group(1)) if skipped else 0,
                       failed=failed.group(1).split() if failed else [], output=output)


def run_tests_env():
    """run-tests.py's environment: CPython for the expected output of tests
    without a .exp file is this interpreter (a `python3` found on PATH may be a
    shell-script shim costing a tenth of a second per test); never a host
    micropython; pyboard with a longer silence timeout (suite_lib/runner)."""
    path = os.pathsep.join(p for p in (str(RUNNER), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, MICROPY_CPYTHON3=sys.executable, MICROPY_MICROPYTHON="/nonexistent", PYTHONPATH=path)


def run_tests(target, dirs, micropy_top=DEFAULT_MICROPY_TOP, result_dir=None, timeout=1800):
    """Run run-tests.py on `target` (a serial port, or execpty:COMMAND) over `dirs`."""
    tests_dir = Path(micropy_top) / "tests"
    run_tests_py = tests_dir / "run-tests.py"
    if not run_tests_py.exists():
        raise FileNotFoundError("%s not found: run 'make setup' or set MICROPY_TOP" % run_tests_py)
    result_dir = result_dir or tempfile.mkdtemp(prefix="mpy-suite-")

    def run(*args):
        r = subprocess.run([sys.executable, str(run_tests_py), "-t", target, "-r", str(result_dir), *args],
                           cwd=tests_dir, capture_output=True, text=True, timeout=timeout, env=run_tests_env())
        return parse(r.stdout + r.stderr)
    result = run("-d", *dirs)
    if result.failed:
        # A few upstream tests time asyncio sleeps to a tenth of a second
        # (extmod/asyncio_fair.py): once, on a machine loaded far beyond
        # CI's, one printed an extra line. Failures run once more
        # (run-tests.py --run-failures); what passes then is reported by
        # name, what fails again fails the suite.
        second = run("--run-failures")
        result.again = [t for t in result.failed if t not in second.failed]
        result.passed += len(result.again)
        result.failed = second.failed
        result.output += second.output
    return result


def wait_for_prompt(port, timeout=10.0):
    """Read the booting target's UART until its first prompt: input that
    arrives while the firmware is still booting can be lost."""
    with serial.Serial(port, 115200, timeout=0.1) as s:
        seen = b""
        deadline = time.monotonic() + timeout
        while not seen.endswith(b">>> "):
            if time.monotonic() > deadline:
                raise RuntimeError("no prompt from %s within %.0f s: %r" % (port, timeout, seen[-200:]))
            seen += s.read(256)


def install_unittest(port):
    """Copy the unittest stand-in into the target's current directory (/flash on
    QEMU virt, / elsewhere), where `import unittest` finds it."""
    with Target(port, timeout=10) as t:
        t.exec("with open('unittest.py', 'w') as f:\n f.write(%r)" % UNITTEST.read_text())


def _run_shard(board, dirs, micropy_top, result_dir, results, index):
    try:
        with Qemu(board, extra=QEMU_CLOCK) as q:
            wait_for_prompt(q.port)
            install_unittest(q.port)
            results[index] = run_tests(q.port, dirs, micropy_top, result_dir)
    except Exception as e:      # reported by run_board, with the shard's directories
        results[index] = e


def run_board(board, micropy_top=DEFAULT_MICROPY_TOP, shards=SHARDS, result_dir=None):
    """The suite on our firmware for `board`, shards side by side."""
    t0 = time.monotonic()
    result_dir = Path(result_dir or tempfile.mkdtemp(prefix="mpy-suite-"))
    results = [None] * len(shards)
    threads = [threading.Thread(target=_run_shard,
                                args=(board, dirs, micropy_top, result_dir / ("shard%d" % i), results, i))
               for i, dirs in enumerate(shards)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    total = SuiteResult()
    for dirs, r in zip(shards, results):
        if isinstance(r, Exception):
            raise RuntimeError("%s, %s: %s" % (board, " ".join(dirs), r)) from r
        total.add(r)
    total.seconds = time.monotonic() - t0
    return total
