"""The Linux guest's files (build/linux/, from `make linux-assets`) booted
directly by plain QEMU virt, without the firmware: Debian's kernel reaches
our BusyBox shell, sees both CPUs and its timer, and `reboot` and
`poweroff` end in PSCI (QEMU restarts the machine, then exits with 0).
This proves the assets, so that a VM test can trust them.

Builds nothing: `make linux-assets` (or `make test`) does."""
import json
import re

import pytest

from host_tools import debian, linux

ASSETS = linux.OUT


def require(path):
    if not path.exists():
        pytest.fail("%s is missing: run 'make linux-assets' (make test does this)" % path)
    return path


@pytest.fixture(scope="module")
def shell():
    require(ASSETS / "Image")
    require(ASSETS / "initramfs.cpio.gz")
    sh, _ = linux.boot_direct(smp=2)
    yield sh
    sh.console.stop()


def test_the_kernel_is_debians_uncompressed_arm64_image_as_recorded():
    assets = json.loads(require(ASSETS / "assets.json").read_text())
    kernel = [p for p in assets["packages"] if re.fullmatch(r"linux-image-6\.1\.0-\d+-arm64", p)]
    assert len(kernel) == 1 and assets["packages"][kernel[0]]["from"] == "/boot/" + kernel[0].replace("linux-image", "vmlinuz")
    assert assets["packages"]["busybox-static"]["from"] == "/bin/busybox"
    image = linux.check_image(ASSETS / "Image")
    assert image.page_size == 4096
    assert assets["files"]["Image"]["sha256"] == debian.sha256_file(ASSETS / "Image")


def test_nproc_says_2(shell):
    assert shell.run("nproc", without_kernel_log=True) == ("2\n", 0)


def test_proc_interrupts_shows_the_timer_counting(shell):
    out, status = shell.run("cat /proc/interrupts")
    assert status == 0
    timer = [l for l in out.splitlines() if l.rstrip().endswith("arch_timer")]
    assert len(timer) == 1, out
    assert int(timer[0].split()[1]) > 0            # CPU0's count
    assert re.search(r"uart-pl011$", out, re.M), out


def test_a_failing_command_reports_its_status(shell):
    assert shell.run("ls /nonexistent")[1] != 0


def test_ctrl_c_stops_a_command_on_the_console(shell):
    assert shell.interrupt("sleep 30") == 130           # 128 + SIGINT


def test_reboot_restarts_the_machine_to_a_new_shell(shell):
    # A new kernel has a new boot id (uptimes compared would depend on how
    # fast a loaded host runs the two boots).
    boot_id = "cat /proc/sys/kernel/random/boot_id"
    before, status = shell.run(boot_id, without_kernel_log=True)
    assert status == 0 and len(before.strip()) == 36
    shell.reboot()          # waits for the kernel's banner again, then the shell
    after, status = shell.run(boot_id, without_kernel_log=True)
    assert status == 0 and len(after.strip()) == 36 and after != before
    assert shell.run("nproc", without_kernel_log=True) == ("2\n", 0)


def test_poweroff_makes_qemu_exit_with_0(shell):
    assert shell.poweroff() == 0
