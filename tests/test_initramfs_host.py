"""The initramfs writer (host_tools/initramfs.py), on the host: its archives
read back by a parser written here from the kernel's description of the
newc format (and by `cpio -t` where it is installed), and the guest root's
files."""
import gzip
import shutil
import stat
import subprocess

import pytest

from host_tools import initramfs
from host_tools.initramfs import Cpio, CpioError


def parse_newc(blob):
    """[(name, mode, data, (rdevmajor, rdevminor))] up to the trailer; the
    format of Documentation/driver-api/early-userspace/buffer-format.rst."""
    entries, off = [], 0
    while True:
        assert blob[off:off + 6] == b"070701", "bad magic at %d" % off
        f = [int(blob[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, rdev, namesize = f[1], f[6], (f[9], f[10]), f[11]
        name_end = off + 110 + namesize
        name = blob[off + 110:name_end - 1].decode()
        assert blob[name_end - 1] == 0, "name not NUL-terminated"
        data_at = (name_end + 3) & ~3
        assert data_at % 4 == 0
        data = blob[data_at:data_at + filesize]
        off = (data_at + filesize + 3) & ~3
        if name == "TRAILER!!!":
            assert off == len(blob), "bytes after the trailer"
            return entries
        entries.append((name, mode, data, rdev))


def test_entries_read_back_with_their_kinds_and_data():
    c = Cpio()
    c.directory("bin")
    c.file("bin/hello", b"hi there\n", mode=0o755)
    c.symlink("bin/sh", "hello")
    c.device("dev/console", "c", 5, 1)
    got = parse_newc(c.bytes())
    assert [(n, stat.filemode(m)) for n, m, _, _ in got] == [
        ("bin", "drwxr-xr-x"), ("bin/hello", "-rwxr-xr-x"), ("bin/sh", "lrwxrwxrwx"),
        ("dev", "drwxr-xr-x"), ("dev/console", "crw-------")]
    data = {n: d for n, _, d, _ in got}
    assert data["bin/hello"] == b"hi there\n" and data["bin/sh"] == b"hello"
    assert got[-1][3] == (5, 1)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 4097])
def test_every_data_and_name_length_keeps_the_4_byte_alignment(size):
    c = Cpio()
    c.file("a" * (size % 7 + 1), bytes(range(256)) * (size // 256) + bytes(size % 256))
    c.file("z", b"after")
    got = parse_newc(c.bytes())
    assert len(got[0][2]) == size and got[1][2] == b"after"


def test_leading_slash_and_missing_parents():
    c = Cpio()
    c.file("/usr/share/x", b"1")
    assert [n for n, _, _, _ in parse_newc(c.bytes())] == ["usr", "usr/share", "usr/share/x"]


@pytest.mark.parametrize("bad", ["", "/", ".", "../etc/passwd", "TRAILER!!!"])
def test_a_path_outside_the_archive_is_refused(bad):
    with pytest.raises(CpioError):
        Cpio().file(bad, b"")


def test_a_path_twice_is_refused():
    c = Cpio()
    c.file("init", b"")
    with pytest.raises(CpioError, match="twice"):
        c.file("/init", b"")


def test_gzip_is_the_same_bytes_every_time():
    a, b = initramfs.guest_root(b"\x7fELF...").gzip(), initramfs.guest_root(b"\x7fELF...").gzip()
    assert a == b and gzip.decompress(a) == initramfs.guest_root(b"\x7fELF...").bytes()


def test_guest_root_has_busybox_init_and_the_console():
    got = {n: (m, d, r) for n, m, d, r in parse_newc(initramfs.guest_root(b"BUSYBOX").bytes())}
    assert got["bin/busybox"][1] == b"BUSYBOX" and got["bin/busybox"][0] & 0o111
    assert got["init"][0] & 0o111 and got["init"][1].startswith(b"#!/bin/busybox sh\n")
    assert b"exec /bin/busybox init" in got["init"][1]          # stays PID 1: poweroff signals it
    assert stat.S_ISCHR(got["dev/console"][0]) and got["dev/console"][2] == (5, 1)
    inittab = got["etc/inittab"][1].decode()
    for fs in ("proc", "sysfs", "devtmpfs"):
        assert "::sysinit:/bin/mount -t %s " % fs in inittab
    assert "ttyAMA0::respawn:-/bin/sh" in inittab
    assert initramfs.SHELL_MARKER.encode() in got["etc/profile"][1]
    assert stat.S_IMODE(got["tmp"][0]) == 0o1777


@pytest.mark.skipif(not shutil.which("cpio"), reason="cpio is not installed")
def test_cpio_lists_the_guest_root(tmp_path):
    out = subprocess.run(["cpio", "-t", "--quiet"], input=initramfs.guest_root(b"x").bytes(),
                         capture_output=True, check=True).stdout.decode().split()
    assert "bin/busybox" in out and "init" in out and "etc/inittab" in out
