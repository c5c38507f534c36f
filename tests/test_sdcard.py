"""The Raspberry Pi 4 boot card: built with mtools, checked with mdir/mtype,
written only to a loop file."""
import subprocess
import sys

import pytest

from host_tools import boards, sdcard

KERNEL = boards.BUILD / "RPI4" / "kernel8.img"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "host_tools", "sdcard", *args],
                          capture_output=True, text=True, timeout=300)


def _mtools(tool, image, *args):
    return subprocess.run([tool, "-i", "%s@@1M" % image, *args], capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    out = tmp_path_factory.mktemp("card") / "sdcard.img"
    r = _cli("build", "-o", str(out))       # boot files from Debian's packages
    assert r.returncode == 0, r.stderr
    return out


def test_image_holds_the_boot_files_and_our_kernel(image):
    names = sorted(_mtools("mdir", image, "-b", "::").decode().split())
    assert names == sorted("::/" + n for n in ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb",
                                               "kernel8.img", "config.txt"))
    assert _mtools("mtype", image, "::kernel8.img") == KERNEL.read_bytes()


def test_config_txt_enters_aarch64_with_the_uart(image):
    lines = [l for l in _mtools("mtype", image, "::config.txt").decode().splitlines() if l and not l.startswith("#")]
    assert lines == ["arm_64bit=1", "kernel=kernel8.img", "kernel_address=0x80000", "enable_gic=1",
                     "enable_uart=1", "init_uart_clock=48000000"]


def test_the_image_has_one_fat32_partition_at_1_mib(image):
    mbr = image.read_bytes()[:512]
    assert mbr[510:] == b"\x55\xaa" and mbr[446 + 4] == 0x0C       # FAT32, LBA
    assert int.from_bytes(mbr[446 + 8:446 + 12], "little") == 2048
    boot_sector = image.read_bytes()[2048 * 512:2049 * 512]
    assert boot_sector[82:90] == b"FAT32   "                       # the filesystem is FAT32 too


def test_boot_files_from_a_folder_the_user_names(tmp_path):
    for name in sdcard.BOOT_FILES:
        (tmp_path / name).write_bytes(name.encode())
    out = tmp_path / "card.img"
    r = _cli("build", "--firmware-dir", str(tmp_path), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert _mtools("mtype", out, "::fixup4.dat") == b"fixup4.dat"


def test_a_folder_missing_boot_files_is_a_clear_error(tmp_path):
    r = _cli("build", "--firmware-dir", str(tmp_path), "-o", str(tmp_path / "x.img"))
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "start4.elf" in r.stderr


def test_write_needs_yes_then_writes_a_loop_file(image, tmp_path):
    loop = tmp_path / "loop.img"
    loop.write_bytes(bytes(1024))
    r = _cli("write", str(loop), "--image", str(image))
    assert r.returncode == 1 and "--yes" in r.stderr
    assert loop.read_bytes() == bytes(1024)
    r = _cli("write", str(loop), "--image", str(image), "--yes")
    assert r.returncode == 0, r.stderr
    assert loop.read_bytes() == image.read_bytes()


def test_write_refuses_a_device_with_mounted_filesystems(image):
    root = subprocess.run(["findmnt", "-n", "-o", "SOURCE", "/"], capture_output=True, text=True).stdout.strip()
    if not root.startswith("/dev/"):
        pytest.skip("the root filesystem is not on a block device here (%r)" % root)
    r = _cli("write", root, "--image", str(image), "--yes")
    assert r.returncode == 1
    assert "refusing" in r.stderr


def test_copy_into_a_mounted_boot_partition(image, tmp_path):
    r = _cli("copy", str(tmp_path), "--image", str(image))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "kernel8.img").read_bytes() == KERNEL.read_bytes()
