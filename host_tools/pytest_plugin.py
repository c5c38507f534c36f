"""pytest plugin (entry point `pytest11`): test scripts of your own get the
fixtures this project's tests use, against QEMU or a board on a port.

    def test_hcr(target):                       # a booted target, soft-reset
        assert target.read_sysreg("HCR_EL2") & 1 == 0

    pytest                           # QEMU: every board built (--board QEMU_VIRT for one)
    pytest --port /dev/ttyUSB0       # a board on a serial line (a Pi 4: --board RPI4)

Fixtures: `board` (each test runs per board), `machine` (one target per
module), `target` (the same, soft-reset for each test), `boot` (a QEMU of
your own: boot(smp=2)), `target_port` (a port to hand to the CLI or
mpremote: --port, or a QEMU's pty), `firmware` (the board's ELF, read),
`pcpu_sim` (pcpu on host_tools.sim's register file, no target at all).

With --port nothing boots QEMU: a test that needs one (it kills QEMU, or
boots with another -smp) is skipped, saying so. Markers: `slow` (minutes,
not seconds; -m "not slow" leaves them out) and `hardware` (needs a real
board: skipped without --port).
"""
import pytest

from . import boards, connect
from .elf import Firmware
from .qemu import Qemu

ALL_BOARDS = list(boards.BOARDS)


def pytest_addoption(parser):
    group = parser.getgroup("aarch64-el2", "MicroPython EL2 targets (host_tools)")
    group.addoption("--board", action="append", choices=ALL_BOARDS,
                    help="run the on-target tests on this board only (repeatable)")
    group.addoption("--port", help="test the board on this port (a serial device, socket://...) instead of QEMU; "
                                   "tests that need QEMU are skipped")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes, not seconds (-m 'not slow' leaves it out)")
    config.addinivalue_line("markers", "hardware: needs a real board (--port); skipped on QEMU")
    if config.getoption("port"):
        _forbid_qemu(config)


def _forbid_qemu(config):
    """With --port, every QEMU a test (or a fixture) would start skips that test."""
    original = Qemu.__init__

    def no_qemu(self, board="QEMU_VIRT", *args, **kw):
        pytest.skip("needs QEMU (boots %s itself); the run is against --port %s" % (board, config.getoption("port")))

    Qemu.__init__ = no_qemu
    config.add_cleanup(lambda: setattr(Qemu, "__init__", original))


def pytest_collection_modifyitems(config, items):
    if config.getoption("port"):
        return
    skip = pytest.mark.skip(reason="needs a real board: run with --port DEVICE")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


def pytest_generate_tests(metafunc):
    if "board" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("board")
        if not chosen:
            # A port is one board: a Pi 4 unless --board says otherwise.
            chosen = ["RPI4"] if metafunc.config.getoption("port") else ALL_BOARDS
        metafunc.parametrize("board", chosen, scope="module")


def require_image(board):
    path = boards.image_path(board)
    if not path.exists():
        pytest.fail("%s is missing: run 'make firmware BOARD=%s' (make test does this)" % (path, board))
    return path


def qemu_url(board, smp=None):
    machine = {v: k for k, v in boards.MACHINES.items()}[board]
    return "qemu:%s%s" % (machine, "?smp=%d" % smp if smp else "")


@pytest.fixture(scope="module")
def firmware(board):
    """The board's firmware ELF, read with pyelftools."""
    require_image(board)
    return Firmware(boards.elf_path(board))


@pytest.fixture(scope="module")
def machine(board, request):
    """One target per test module: the board on --port, else a QEMU (4 CPUs)."""
    port = request.config.getoption("port")
    if port:
        elf = boards.elf_path(board)
        t = connect(port, timeout=10, elf=elf if elf.exists() else None)
    else:
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
    """Boot a target of your own: boot(smp=2) (QEMU only)."""
    started = []

    def _boot(smp=None, **kw):
        require_image(board)
        t = connect(qemu_url(board, smp), **kw)
        started.append(t)
        return t

    yield _boot
    for t in started:
        t.close()


@pytest.fixture(scope="module")
def target_port(board, request):
    """A port for the CLI or mpremote: --port, or the pty of a QEMU booted for the module."""
    port = request.config.getoption("port")
    if port:
        yield port
        return
    require_image(board)
    q = Qemu(board)
    yield q.port
    q.stop()


@pytest.fixture
def pcpu_sim():
    """The firmware's pcpu module on host_tools.sim's register file:
    pcpu_sim.fake is the SimAarch64 (its .regs, .fail_write)."""
    from . import sim
    with sim.target_modules() as (fake, import_):
        module = import_("pcpu")
        module.fake = fake
        yield module
