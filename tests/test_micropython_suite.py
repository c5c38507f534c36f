"""MicroPython's own tests/basics, run by upstream run-tests.py against the
firmware in QEMU, exactly as upstream runs its ports/qemu. We skip nothing
beyond run-tests.py's own feature-based skips."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import require_image
from host_tools import boards

MICROPY_TOP = Path(os.environ.get("MICROPY_TOP", boards.PROJECT_TOP / "build/deps/micropython-1.25.0"))


def test_basics(board, tmp_path):
    require_image(board)
    run_tests = MICROPY_TOP / "tests" / "run-tests.py"
    if not run_tests.exists():
        pytest.fail("%s not found: run 'make setup' or set MICROPY_TOP" % run_tests)
    qemu = " ".join(boards.qemu_command(board, extra=["-display", "none", "-monitor", "none", "-serial", "pty"]))
    r = subprocess.run(
        [sys.executable, str(run_tests), "-t", "execpty:" + qemu, "-r", str(tmp_path), "-d", "basics"],
        cwd=run_tests.parent, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, MICROPY_MICROPYTHON="/nonexistent"))
    out = r.stdout + r.stderr
    summary = re.search(r"^(\d+) tests performed", out, re.M)
    assert summary, "run-tests.py gave no summary:\n" + out[-2000:]
    performed = int(summary.group(1))
    passed = int(re.search(r"^(\d+) tests passed", out, re.M).group(1))
    failed = re.search(r"^(\d+) tests failed: (.*)$", out, re.M)
    assert failed is None, "failed: %s" % failed.group(2)
    assert r.returncode == 0, out[-2000:]
    assert passed == performed >= 500
