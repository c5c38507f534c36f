"""Debian's kernel under the firmware, for time and for the escape key.

Time: `sleep 5` in the guest takes 5 s of the firmware's clock, within 2 %.
The guest's console lines are stamped as they reach the PL011 model on CPU 0
(vm.PL011.stamps, time.ticks_us(): the physical counter, of which the
guest's virtual counter is an offset copy); the interval between the line
printed before `sleep 5` and the one after is the guest's 5 s. QEMU runs
with -icount shift=0: the counter follows the instructions executed (and
the host's clock only while every CPU sleeps), so a loaded host does not
stretch it and the figure is the same every run. Host wall-clock time is
not asserted.

The escape key: Ctrl-] typed on the console while Linux runs pauses the VM
back to the REPL with a `paused` record; the friendly >>> prompt answers
meanwhile; v.run() resumes the guest with its shell as it was.

One boot (QEMU virt, GICv2, 2 vCPUs): a Linux boot is slow here."""
import pytest

from conftest import require_image
from host_tools import linux

ICOUNT = ["-icount", "shift=0"]
BOOT_TIMEOUT = 600          # these only stop a hang
COMMAND_TIMEOUT = 180


@pytest.fixture(scope="module")
def console():
    require_image("QEMU_VIRT")
    c = linux.FirmwareConsole(board="QEMU_VIRT", cpus=2, qemu_extra=ICOUNT, setup_extra="v.uart.stamps = []\n")
    try:
        linux.LinuxShell(c).wait_ready(BOOT_TIMEOUT)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def shell(console):
    sh = linux.LinuxShell(console)
    sh.commands = 1000          # (the boot's shell above counted nothing: marks stay unique)
    return sh


def test_sleep_5_takes_5_seconds_of_the_firmware_clock(console, shell):
    out, status = shell.run("echo before-sleep; sleep 5; echo after-sleep", COMMAND_TIMEOUT, without_kernel_log=True)
    assert (out.split(), status) == (["before-sleep", "after-sleep"], 0)
    assert console.pause(COMMAND_TIMEOUT) == ("paused", None)
    us = int(console.target.exec("print(v.uart.line_time_us('before-sleep', 'after-sleep'))").strip())
    print("sleep 5 took %d us of the firmware's clock" % us)      # (pytest -s shows it)
    assert abs(us - 5_000_000) <= 0.02 * 5_000_000, "sleep 5 took %d us of the firmware's clock" % us
    console.resume()


def test_the_escape_key_pauses_linux_and_run_resumes_it(console, shell):
    out, status = shell.run("export MARK=kept-across-the-pause; cd /proc; echo $MARK", COMMAND_TIMEOUT,
                            without_kernel_log=True)
    assert (out.strip(), status) == ("kept-across-the-pause", 0)
    # Ctrl-] while the guest runs: run() returns its record, the REPL is back.
    assert console.pause(COMMAND_TIMEOUT) == ("paused", None)
    assert "VmStop(paused, 'Ctrl-]: run() resumes it')" in console.repl_line("r")
    assert "42" in console.repl_line("6 * 7").split()
    t = console.target
    assert t.exec("print(v.stopped, v.vgic_state()['enabled'])").split() == ["None", "True"]
    # Both vCPUs are on: neither traps TLB maintenance (HCR_EL2.TTLB, bit 25,
    # is set only while a VM has one vCPU on; test_hcr_routing has that case).
    assert t.exec("print([v.guest_hcr(i) >> 25 & 1 for i in range(2)])").strip() == "[0, 0]"
    # v.run(): the same shell, its variables and working directory, answers.
    console.resume()
    out, status = shell.run("echo $MARK $(pwd); nproc", COMMAND_TIMEOUT, without_kernel_log=True)
    assert (out.split(), status) == (["kept-across-the-pause", "/proc", "2"], 0)
    assert shell.poweroff(COMMAND_TIMEOUT) == ("system_off", 0)
    assert t.exec("print(6 * 7)").strip() == "42"
