"""aarch64-el2 guest run: the test guest in a VM on a qemu: target with its
console on the command's output, and the exit status a script checks."""
import os
import re
import subprocess
import sys

import pytest

from conftest import qemu_url, require_image
from host_tools.qemu import Qemu

PROJECT_TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(PROJECT_TOP, "build", "guests", "testguest.bin")


def guest_run(board, *args, port=None):
    cmd = [sys.executable, "-m", "host_tools", "-p", port or qemu_url(board), "guest", "run", GUEST] + list(args)
    return subprocess.run(cmd, cwd=PROJECT_TOP, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=600)


def test_the_test_guest_powers_off_cleanly_and_the_command_says_so(board):
    require_image(board)
    r = guest_run(board, "--cpus", "2")
    assert r.returncode == 0, r.stderr
    assert "testguest: cpus 2" in r.stdout and "testguest: PASS" in r.stdout
    assert "VmStop(system_off, vcpu=0, status=0)" in r.stderr


def test_a_guest_that_faults_ends_the_command_with_status_1_and_the_report(board):
    require_image(board)
    r = guest_run(board, "--append", "mode=wild")
    assert r.returncode == 1
    assert "testguest: wild: loading from 0x700000000" in r.stdout
    assert "VmStop(fault, vcpu=0" in r.stderr and "IPA=0x700000000" in r.stderr


def test_a_faulting_guests_elr_is_named_from_its_elf(board):
    """The VM exit record names the guest's code: the function nm says holds ELR."""
    require_image(board)
    elf = os.path.join(PROJECT_TOP, "build", "guests", "testguest.elf")
    r = guest_run(board, "--append", "mode=wild", "--guest-elf", elf)
    assert r.returncode == 1
    m = re.search(r"ELR=(0x[0-9a-f]+) <(\w+)\+0x([0-9a-f]+)", r.stderr)
    assert m, r.stderr
    elr, name, offset = int(m.group(1), 16), m.group(2), int(m.group(3), 16)
    nm = subprocess.run(["aarch64-linux-gnu-nm", "-S", elf], capture_output=True, text=True, check=True).stdout
    containing = [line.split()[3] for line in nm.splitlines() if len(line.split()) == 4
                  and int(line.split()[0], 16) <= elr < int(line.split()[0], 16) + int(line.split()[1], 16)]
    assert name in containing and "wild" in name, (name, containing)
    assert offset < 0x1000


def test_the_device_tree_can_be_kept(board, tmp_path):
    require_image(board)
    out = tmp_path / "guest.dtb"
    r = guest_run(board, "--dtb-out", str(out), "--append", "console=ttyAMA0 hello")
    assert r.returncode == 0, r.stderr
    blob = out.read_bytes()
    assert blob[:4] == b"\xd0\x0d\xfe\xed" and b"console=ttyAMA0 hello" in blob


@pytest.mark.parametrize("args, message", [
    (["--ram", "4096"], "does not leave room"),
    (["--initrd", "/nonexistent"], "/nonexistent: no such file"),
])
def test_bad_arguments_are_clear_errors(board, args, message):
    require_image(board)
    r = guest_run(board, *args)
    assert r.returncode == 1 and message in r.stderr


@pytest.mark.parametrize("fast", [[], ["--fast-baud", "921600"]], ids=["115200", "921600"])
def test_a_running_target_gets_the_image_over_its_uart(board, fast):
    # The target already runs (as after `aarch64-el2 boot`): the image goes
    # over the UART with the checked upload, then runs as above (the faster
    # line, switched and back, only exercises the protocol on QEMU's pty).
    require_image(board)
    with Qemu(board) as q:
        r = guest_run(board, "--cpus", "2", *fast, port=q.port)
    assert r.returncode == 0, r.stderr
    assert "testguest: cpus 2" in r.stdout and "testguest: PASS" in r.stdout
    assert "VmStop(system_off, vcpu=0, status=0)" in r.stderr
    assert "baud did not work" not in r.stderr
