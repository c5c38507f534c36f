"""The host side of the Linux guest's console (host_tools/linux.py), without
QEMU: a small Python program plays the guest (a long boot log, the shell's
marker and prompt, a tty's echo, kernel messages landing in the middle of a
command's output) and LinuxShell drives it as it drives the real one."""
import sys
import textwrap

import pytest

from host_tools import initramfs, linux

FAKE_GUEST = textwrap.dedent(r"""
    import re, sys
    out = sys.stdout
    def say(s):
        out.write(s); out.flush()
    for i in range(400):                       # ~16 KB of boot log, as the kernel prints
        say("[%5d.%06d] a line of the kernel's boot log, number %d\r\n" % (i // 100, i, i))
    say("\r\n%s\r\n%s" % (MARKER, PROMPT))
    for line in sys.stdin:
        say(line.rstrip("\n") + "\r\n")        # the tty's echo
        m = re.match(r"echo '@@'beg(\d+); (.*); echo '@@'end\d+:\$\?$", line.rstrip("\n"))
        if line.strip() == "poweroff":
            say("[    9.000000] reboot: Power down\r\n")
            sys.exit(0)
        if not m:
            say(PROMPT); continue
        n, cmd = m.groups()
        say("@@beg%s\r\n" % n)
        if cmd == "nproc":
            say("2[    5.123456] hrtimer: interrupt took 32357088 ns\r\n\r\n")
            status = 0
        else:
            say("sh: %s: not found\r\n" % cmd.split()[0])
            status = 127
        say("@@end%s:%d\r\n%s" % (n, status, PROMPT))
""")


@pytest.fixture
def shell():
    program = "MARKER, PROMPT = %r, %r\n" % (initramfs.SHELL_MARKER, initramfs.PROMPT) + FAKE_GUEST
    console = linux.GuestConsole([sys.executable, "-c", program])
    sh = linux.LinuxShell(console)
    yield sh
    console.stop()


def test_the_shell_is_found_after_a_long_boot_log(shell):
    assert shell.wait_ready(timeout=30) > 0
    assert len(shell.console.output) > 14000


def test_a_command_s_output_and_status(shell):
    shell.wait_ready(timeout=30)
    assert shell.run("frobnicate --now") == ("sh: frobnicate: not found\n", 127)


def test_kernel_messages_inside_the_output_are_left_out_when_asked(shell):
    shell.wait_ready(timeout=30)
    out, status = shell.run("nproc")
    assert status == 0 and out.startswith("2[    5.123456] hrtimer")
    assert shell.run("nproc", without_kernel_log=True) == ("2\n", 0)


def test_poweroff_returns_the_exit_status(shell):
    shell.wait_ready(timeout=30)
    assert shell.poweroff(timeout=30) == 0


def test_a_guest_that_dies_is_a_clear_error():
    console = linux.GuestConsole([sys.executable, "-c", "print('Kernel panic - not syncing: no init found')"])
    with console, pytest.raises(linux.LinuxError) as e:
        linux.LinuxShell(console).wait_ready(timeout=30)
    assert "QEMU exited (status 0)" in str(e.value) and "Kernel panic" in str(e.value)


def test_one_command_per_line(shell):
    with pytest.raises(ValueError):
        shell.run("echo a\necho b")


def test_missing_assets_name_the_make_target(tmp_path):
    with pytest.raises(linux.LinuxError, match="make linux-assets"):
        linux.direct_command(kernel=tmp_path / "Image", initrd=tmp_path / "initramfs.cpio.gz")
