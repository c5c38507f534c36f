"""The fixtures as a pytest plugin (entry point pytest11): a user's own test
directory, with no conftest of ours, gets `target`, `pcpu_sim`, --port and
the markers; with --port nothing boots QEMU and a test that needs one is
skipped with the reason; `make test PORT=...` passes --port through; every
test has pytest-timeout's backstop."""
import subprocess
import sys

import pytest

from host_tools import boards
from host_tools.qemu import Qemu

from conftest import require_image

USER_TESTS = '''
import pytest

def test_target_answers(target):
    assert target.exec("print(6 * 7)") == "42\\n"

def test_sim_needs_no_target(pcpu_sim):
    pcpu_sim.Aarch64PerCpu.new(1).hardware_enable()
    assert pcpu_sim.fake.regs[1]["VBAR_EL2"] == pcpu_sim.fake.VCPU_VECTORS

def test_own_qemu(boot):
    assert boot(smp=2).cpu_count() == 2

@pytest.mark.hardware
def test_on_a_board_only(target_port):
    assert target_port

@pytest.mark.slow
def test_slow():
    pass
'''


def run_pytest(tmp_path, *args):
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    r = subprocess.run([sys.executable, "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", *args, "test_user.py"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout


def test_a_users_directory_gets_the_fixtures_on_qemu(tmp_path):
    require_image("QEMU_VIRT")
    status, out = run_pytest(tmp_path, "--board", "QEMU_VIRT")
    assert status == 0, out
    assert "test_target_answers[QEMU_VIRT] PASSED" in out and "test_sim_needs_no_target PASSED" in out
    assert "test_own_qemu[QEMU_VIRT] PASSED" in out
    assert "needs a real board: run with --port DEVICE" in out      # hardware, on QEMU


def test_with_port_the_board_is_tested_and_qemu_tests_skip_saying_why(tmp_path, board):
    require_image(board)
    q = Qemu(board)         # the "board": a QEMU reached only through its port
    try:
        status, out = run_pytest(tmp_path, "--port", q.port, "--board", board)
    finally:
        q.stop()
    assert status == 0, out
    assert "test_target_answers[%s] PASSED" % board in out and "test_on_a_board_only[%s] PASSED" % board in out
    assert "needs QEMU (boots %s itself); the run is against --port %s" % (board, q.port) in out
    assert "test_own_qemu[%s] SKIPPED" % board in out


def test_markers_are_registered_and_m_not_slow_leaves_slow_out(tmp_path):
    status, out = run_pytest(tmp_path, "--strict-markers", "-m", "not slow and not hardware", "-k", "sim")
    assert status == 0, out
    assert "1 passed" in out and "deselected" in out


def test_every_test_has_the_timeout_backstop(request):
    assert request.config.getini("timeout") == "900"
    assert request.config.pluginmanager.hasplugin("timeout")


def test_make_test_port_passes_port_to_pytest():
    r = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(boards.PROJECT_TOP), "test",
                        "PORT=/dev/ttyUSB9"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "pytest -q --port '/dev/ttyUSB9' tests" in r.stdout
