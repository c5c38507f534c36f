"""Debian's kernel, unmodified, under the firmware: booted by vm.VM from the
REPL with our BusyBox initramfs, its shell driven through the firmware's
console, as a user at `aarch64-el2 guest run` would (host_tools/linux.py's
FirmwareConsole). The same kernel and initramfs boot directly in QEMU in
test_linux_assets.py.

One boot per board: the shell answers, sees every vCPU (each takes timer
interrupts), the console and timer interrupts count in /proc/interrupts,
`reboot` boots the VM again, `poweroff` returns run() with a system_off
record, and the firmware answers as before with its CPUs free again."""
import re

import pytest

from host_tools.linux import FirmwareConsole, LinuxShell

pytestmark = pytest.mark.slow     # a Linux boot per test: minutes in all

BOOT_TIMEOUT = 600          # QEMU raspi4b on a loaded 2-core host is slow; this only stops a hang
COMMAND_TIMEOUT = 180
CPUS = 3


def interrupt_counts(text, name):
    """Per-CPU counts of the /proc/interrupts line whose description holds `name`."""
    for line in text.splitlines():
        if name in line:
            fields = line.split()
            return [int(f) for f in fields[1:1 + CPUS]]
    raise AssertionError("no %r line in /proc/interrupts:\n%s" % (name, text))


def test_linux_boots_to_a_shell_under_the_firmware(board):
    console = FirmwareConsole(board=board, cpus=CPUS)
    try:
        shell = LinuxShell(console)
        shell.wait_ready(BOOT_TIMEOUT)

        out, status = shell.run("nproc", COMMAND_TIMEOUT, without_kernel_log=True)
        assert (out.strip(), status) == (str(CPUS), 0)

        # Work on every vCPU: each CPU's timer counts, and a busy loop on each.
        out, status = shell.run("for c in 0 1 2; do taskset -c $c sh -c 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo ran' & done; wait",
                                COMMAND_TIMEOUT, without_kernel_log=True)
        assert (out.split(), status) == (["ran"] * CPUS, 0)
        out, status = shell.run("cat /proc/interrupts", COMMAND_TIMEOUT, without_kernel_log=True)
        assert status == 0
        timer = interrupt_counts(out, "arch_timer")
        assert all(n > 0 for n in timer), out
        assert sum(interrupt_counts(out, "uart-pl011")) > 0, out      # the console is interrupt-driven

        # reboot: PSCI SYSTEM_RESET boots the same VM again.
        shell.reboot(BOOT_TIMEOUT)
        out, status = shell.run("cat /proc/uptime", COMMAND_TIMEOUT, without_kernel_log=True)
        assert status == 0 and float(out.split()[0]) < 600

        assert shell.poweroff(COMMAND_TIMEOUT) == ("system_off", 0)

        # The firmware as before: the REPL answers, the VM's CPUs are free.
        t = console.target
        assert t.exec("print(v.resets, v.stopped.reason)").split() == ["1", "system_off"]
        t.exec("v.close()")
        assert t.exec("import vm\nw = vm.VM(ram=16 << 20, cpus=%d)\nprint(w.cpus)\nw.close()" % CPUS).strip() == str(CPUS)
        assert t.exec("print(6 * 7)").strip() == "42"
    finally:
        console.stop()
