"""MicroPython's own test suite (tests/run-tests.py and the directories in
host_tools.suite.SUITE_DIRS: basics, micropython, float, misc, extmod,
stress) against the firmware in QEMU, as upstream runs it on its ports. We
skip nothing beyond run-tests.py's own feature-based skips; the counts are
printed at the end of the pytest run."""
import os
from pathlib import Path

import pytest

from conftest import SUMMARY_LINES, require_image
from host_tools import boards, suite

# The whole suite is one test: its own bound is run-tests.py's 1800 s
# (host_tools/suite.py); pytest-timeout's backstop sits above that.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

MICROPY_TOP = Path(os.environ.get("MICROPY_TOP", boards.PROJECT_TOP / "build/deps/micropython-1.25.0"))
# What upstream MicroPython 1.25.0's own ports/qemu (MPS2_AN385) passes in the
# same directories, measured by `make bench` (host_tools/bench_suite.py): a
# feature that silently disappears from the firmware shows up here.
UPSTREAM_QEMU_PASSED = 761


def test_micropython_suite(board, tmp_path, request):
    require_image(board)
    r = suite.run_board(board, MICROPY_TOP, result_dir=tmp_path)
    request.config.stash.setdefault(SUMMARY_LINES, []).append(
        "MicroPython suite on %s (%s): %s" % (board, " ".join(suite.SUITE_DIRS), r.summary()))
    assert not r.failed, "failed: %s (outputs in %s)" % (" ".join(r.failed), tmp_path)
    assert r.passed == r.performed
    assert r.passed >= UPSTREAM_QEMU_PASSED, r.summary()
