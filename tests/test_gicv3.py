"""QEMU virt with a GICv3 (-M virt,gic-version=3): the firmware drives it
(distributor with affinity routing, a redistributor per CPU, the ICC_*
system registers at EL2), so everything that needs interrupts works as on
the GICv2: timer callbacks, the UART's Ctrl-C, cross-calls to CPUs 1-3
(SGIs), their timer IRQs (PPIs) and guests on them. A guest cannot reach
the host's CPU interface.

The same firmware image as QEMU_VIRT's; the GIC version is QEMU's: these
tests ask for it with the target URL qemu:virt?gic=3. Any other on-target
test runs on a GICv3 too with EL2_QEMU_GIC=3 in the environment
(host_tools/boards.py), e.g. EL2_QEMU_GIC=3 pytest --board QEMU_VIRT tests/test_smp.py."""
import pytest

from conftest import require_image, target_result
from host_tools import boards, connect
from qemu_pipe import PipeQemu

URL = "qemu:virt?gic=3"
GICR_BASE, GICR_STRIDE = 0x080A_0000, 0x2_0000     # QEMU virt's redistributors, 128 KiB each


@pytest.fixture(scope="module")
def v3():
    require_image("QEMU_VIRT")
    t = connect(URL, timeout=10)
    yield t
    t.close()


@pytest.fixture
def gicv3(v3):
    v3.soft_reset()
    return v3


def test_the_firmware_finds_and_drives_the_gicv3(gicv3):
    gic = gicv3.eval("__import__('aarch64').gic()")
    assert gic["kind"] == "GICv3" and gic["driven"] is True
    assert gic["distributor"] == 0x0800_0000
    # Each CPU found its own redistributor by its affinity.
    assert gic["redistributors"] == tuple(GICR_BASE + GICR_STRIDE * c for c in range(4))


def test_the_cpu_interface_registers_at_el2(gicv3):
    # The system register interface on (SRE, with EL1's ICC_SRE_EL1 allowed),
    # and EL1's accesses to the rest trapped (ICH_HCR_EL2 TC, TALL0, TALL1).
    for cpu in range(4):
        assert gicv3.read_sysreg("ICC_SRE_EL2", cpu=cpu) & 0b1001 == 0b1001
        assert gicv3.read_sysreg("ICH_HCR_EL2", cpu=cpu) == (1 << 10) | (1 << 11) | (1 << 12)


def test_the_gicv2_board_still_reports_its_gicv2():
    require_image("QEMU_VIRT")
    with connect("qemu:virt", timeout=10) as t:
        gic = t.eval("__import__('aarch64').gic()")
    assert (gic["kind"], gic["driven"], gic["redistributors"]) == ("GICv2", True, None)


def test_boot_says_nothing_about_polling_and_the_repl_works():
    require_image("QEMU_VIRT")
    with PipeQemu("QEMU_VIRT", boards.gic_args("QEMU_VIRT", 3)) as q:
        q.resume()
        text = q.expect(b">>> ").decode(errors="replace")
        assert "[interrupts:" not in text and "*** fault" not in text
        q.write(b"print(6 * 7)\r")
        assert b"42" in q.expect(b">>> ", timeout=10)
        # Ctrl-C stops a busy loop: the UART's interrupt (an SPI routed to CPU 0).
        # Sent once the loop runs (a Ctrl-C typed before the REPL starts the
        # code is input, as on any MicroPython port).
        q.write(b"exec('print(\"spinning\")\\nwhile True: pass')\r")
        q.expect(b"spinning\r\n")
        q.write(b"\x03")
        assert b"KeyboardInterrupt" in q.expect(b">>> ", timeout=10)
        q.write(b"print(7 * 8)\r")
        assert b"56" in q.expect(b">>> ", timeout=10)


def test_machine_timer_callbacks_come_from_interrupts(gicv3):
    out = gicv3.exec(
        "import aarch64, machine, time\n"
        "before = aarch64.irq_counts(0)[1]\n"
        "n = []\n"
        "t = machine.Timer(period=5, callback=n.append)\n"
        "deadline = time.ticks_add(time.ticks_ms(), 5000)\n"
        "while len(n) < 10 and time.ticks_diff(deadline, time.ticks_ms()) > 0:\n"
        "    time.sleep_ms(5)\n"
        "t.deinit()\n"
        "print(len(n) >= 10, aarch64.irq_counts(0)[1] - before >= 10)\n")
    assert out.split() == ["True", "True"]


@pytest.mark.parametrize("cpu", [1, 2, 3])
def test_cross_calls_reach_each_secondary(gicv3, cpu):
    # The secondary sleeps in WFI: only the SGI wakes it.
    assert gicv3.read_sysreg("MPIDR_EL1", cpu=cpu) & 0xFF == cpu
    assert target_result(gicv3, "pcpu_new.py", CPU=cpu) == cpu


@pytest.mark.parametrize("cpu", [1, 2, 3])
def test_timer_irqs_on_a_secondary_go_through_its_irq_handler(gicv3, cpu):
    counts = target_result(gicv3, "smp_timer_irq_on_cpu.py", CPU=cpu, HZ=1000, MS=100)
    assert counts[cpu - 1] > 0
    assert [c for i, c in enumerate(counts) if i != cpu - 1] == [0, 0]


@pytest.mark.parametrize("cpu", [0, 1, 3])
def test_a_guest_runs_on_the_cpu_it_names(gicv3, cpu):
    ec, mpidr = target_result(gicv3, "vcpu_on_cpu.py", CPU=cpu)
    assert ec == 0x16 and mpidr & 0xFF == cpu


def test_a_guest_that_never_exits_is_stopped_by_its_timeout(gicv3):
    # The deadline is the host's EL2 timer: its PPI ends the guest's run.
    assert target_result(gicv3, "vcpu_timeout.py") == ("timeout", True)


def sysreg_of_iss(iss):
    """(op0, op1, CRn, CRm, op2, is_read) of a trapped MRS/MSR's ISS (EC 0x18)."""
    return ((iss >> 20) & 3, (iss >> 14) & 7, (iss >> 10) & 0xF, (iss >> 1) & 0xF, (iss >> 17) & 7, iss & 1)


@pytest.mark.parametrize("cpu", [0, 2])
def test_a_guest_cannot_reach_the_hosts_cpu_interface(gicv3, cpu):
    exits, timer_still_fires = target_result(gicv3, "gicv3_guest_icc.py", CPU=cpu)
    assert [ec for ec, _ in exits] == [0x18] * 3        # trapped to EL2, not done
    assert [sysreg_of_iss(iss) for _, iss in exits] == [
        (3, 0, 12, 12, 0, 1),       # MRS ICC_IAR1_EL1: would have acknowledged the host's interrupt
        (3, 0, 12, 12, 1, 0),       # MSR ICC_EOIR1_EL1
        (3, 0, 4, 6, 0, 0),         # MSR ICC_PMR_EL1: would have masked the host's interrupts
    ]
    assert timer_still_fires


def test_soft_reset_keeps_interrupts_working(gicv3):
    gicv3.soft_reset()
    assert gicv3.read_sysreg("MPIDR_EL1", cpu=3) & 0xFF == 3
    assert gicv3.exec("import machine, time\nn = []\nt = machine.Timer(period=5, callback=n.append)\n"
                      "time.sleep_ms(200)\nt.deinit()\nprint(len(n) > 0)\n").strip() == "True"
