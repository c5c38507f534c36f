"""Debian's kernel in a VM on a GICv3 host (QEMU virt gic-version=3): the
VM gets a virtual GICv3 (core/vgic3.c: an emulated distributor and
redistributors, the hardware's virtual CPU interface through ICH_LR<n>_EL2,
guest SGIs by trapped ICC_SGI1R_EL1), and the kernel finds it through the
device tree's arm,gic-v3 node. Booted with `aarch64-el2 -p qemu:virt?gic=3
guest run --cpus 3` (build/linux/: make linux-assets), on a pty as a person
types. `reboot` boots the same VM again (boot ids differ).
"""
import os
import pty
import re
import subprocess
import sys
import threading
import time

import pytest

from conftest import require_image
from host_tools import boards, linux

pytestmark = pytest.mark.slow     # a Linux boot per test: minutes in all

IMAGE, INITRD = linux.OUT / "Image", linux.OUT / "initramfs.cpio.gz"


class PtyConsole(linux.GuestConsole):
    """`guest run` with its terminal a pty: the keys typed reach the guest
    (a line ends with the Enter key, \\r), its console comes back."""

    def __init__(self, command):
        self.command = command
        self.t0 = time.monotonic()
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(command, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=boards.PROJECT_TOP)
        os.close(slave)
        self.output = bytearray()
        self.pos = 0
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def send(self, text):
        os.write(self.master, text.replace("\n", "\r").encode())

    def expect(self, pattern, timeout=linux.COMMAND_TIMEOUT, what=None):
        # The guest's tty ends lines with \r\n, the firmware's console adds a \r.
        return super().expect(pattern.replace(rb"\r?\n", rb"\r*\n"), timeout, what)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def interrupt_rows(text):
    """/proc/interrupts as {name: [count per CPU]} (the last word names a row)."""
    lines = text.strip().splitlines()
    cpus = len(lines[0].split())
    rows = {}
    for line in lines[1:]:
        words = line.split()
        if len(words) > cpus and words[0].endswith(":"):
            key = words[0][:-1] if not words[0][:-1].isdigit() else words[-1]
            rows[key] = [int(w) for w in words[1:1 + cpus]]
    return rows


@pytest.fixture(scope="module")
def shell():
    require_image("QEMU_VIRT")
    for path in (IMAGE, INITRD):
        if not path.exists():
            pytest.fail("%s is missing: run 'make linux-assets' (make test does this)" % path)
    cmd = [sys.executable, "-m", "host_tools", "-p", "qemu:virt?gic=3", "guest", "run", str(IMAGE),
           "--initrd", str(INITRD), "--append", "console=ttyAMA0", "--cpus", "3"]
    console = PtyConsole(cmd)
    sh = linux.LinuxShell(console)
    try:
        sh.wait_ready()
        yield sh
    finally:
        console.stop()


def test_the_kernel_finds_a_gicv3_and_a_redistributor_per_vcpu(shell):
    boot = bytes(shell.console.output).decode(errors="replace")
    assert "GICv3: 96 SPIs implemented" in boot
    assert re.search(r"GICv3: CPU0: found redistributor 0 region 0:0x0*80a0000", boot)
    assert re.search(r"GICv3: CPU1: found redistributor 1 region 0:0x0*80c0000", boot)
    assert re.search(r"GICv3: CPU2: found redistributor 2 region 0:0x0*80e0000", boot)
    out, status = shell.run("nproc")
    assert (out.strip(), status) == ("3", 0)


def test_timer_uart_and_ipis_count_through_the_virtual_gicv3(shell):
    out, _ = shell.run("cat /proc/interrupts", without_kernel_log=True)
    rows = interrupt_rows(out)
    assert "GICv3" in out
    assert all(n > 0 for n in rows["arch_timer"])          # the virtual timer, PPI 27, on every vCPU
    assert rows["uart-pl011"][0] > 0                        # our typing: SPI 33, routed to vCPU 0
    ipis = rows["IPI0"] + rows["IPI1"]                      # rescheduling, function calls: guest SGIs
    assert sum(ipis) > 0
    # A second later the timer has gone on counting on each vCPU.
    shell.run("sleep 1")
    later = interrupt_rows(shell.run("cat /proc/interrupts", without_kernel_log=True)[0])
    assert all(b > a for a, b in zip(rows["arch_timer"], later["arch_timer"]))


def test_reboot_boots_the_vm_again_on_the_virtual_gicv3(shell):
    # PSCI SYSTEM_RESET: the firmware resets the VM (RAM, images, the virtual
    # GICv3) and boots the kernel again; the new kernel's boot id differs.
    boot_id = "cat /proc/sys/kernel/random/boot_id"
    before, status = shell.run(boot_id, without_kernel_log=True)
    assert status == 0 and len(before.strip()) == 36
    shell.reboot()
    after, status = shell.run(boot_id, without_kernel_log=True)
    assert status == 0 and len(after.strip()) == 36
    assert after.strip() != before.strip()
    # The new kernel found its GICv3 again and runs on every vCPU.
    boot = bytes(shell.console.output).decode(errors="replace")
    assert boot.count("GICv3: 96 SPIs implemented") == 2
    out, status = shell.run("nproc")
    assert (out.strip(), status) == ("3", 0)


def test_poweroff_returns_to_the_firmware_with_system_off(shell):
    assert shell.poweroff() == 0
    assert b"system_off" in bytes(shell.console.output)[-400:]
