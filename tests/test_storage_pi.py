"""Storage that persists on the Raspberry Pi 4 (QEMU raspi4b): the SD card
(aarch64.SDCard over SDHCI) with its first FAT partition at /sd.

Each test boots the firmware with a small card image of its own
(`-drive if=sd`), restarts QEMU on the same image as a power cycle would, and
reads the card from the host with mtools as a PC would."""
import json
import os
import signal
import socket
import subprocess

import pytest

from conftest import Console, printed_result, require_image, run_target_file, target_source
from host_tools import LinkError, TargetError, boards, connect, sdcard
from host_tools.qemu import Qemu

BOARD = "RPI4"
CARD_MIB = 4
PARTITION = sdcard.PART_START * 512


def sd_args(image):
    return ["-drive", "if=sd,format=raw,file=%s" % image]


def boot(image):
    require_image(BOARD)
    return connect("qemu:raspi4b", timeout=30, qemu_extra=sd_args(image))


def host_read(image, name):
    return subprocess.run(["mtype", "-i", "%s@@%d" % (image, PARTITION), "::" + name],
                          capture_output=True, check=True).stdout


def host_names(image):
    out = subprocess.run(["mdir", "-b", "-i", "%s@@%d" % (image, PARTITION), "::"],
                         capture_output=True, check=True, text=True).stdout
    return sorted(line.strip()[3:] for line in out.splitlines() if line.strip())


def fsck(image, tmp_path):
    """fsck.fat -n on a copy of the partition: (exit status, its report)."""
    part = tmp_path / "partition.img"
    part.write_bytes(image.read_bytes()[PARTITION:])
    r = subprocess.run(["fsck.fat", "-n", str(part)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture(autouse=True)
def rpi4_chosen(request):
    """RPI4 only: skipped under `pytest --board QEMU_VIRT`."""
    chosen = request.config.getoption("board")
    if chosen and BOARD not in chosen:
        pytest.skip("the SD card is the RPI4 board's (--board %s)" % ",".join(chosen))


@pytest.fixture
def card(tmp_path):
    """A 4 MiB card: MBR, one FAT16 partition holding keep.txt."""
    keep = tmp_path / "keep.txt"
    keep.write_text("written on the host\n")
    return sdcard.data_card(tmp_path / "card.img", CARD_MIB, [keep])


def test_the_card_is_found_and_mounted_at_sd(card):
    with boot(card) as t:
        assert t.eval("__import__('os').getcwd()") == "/sd"
        assert t.eval("sorted(__import__('os').listdir('/sd'))") == ["keep.txt"]
        assert t.eval("open('/sd/keep.txt').read()") == "written on the host\n"
        name, base, blocks, high_capacity, _ = t.eval("__import__('aarch64').SDCard().info()")
        # QEMU 10's raspi4b puts the card on EMMC; on a Pi 4 it is EMMC2.
        assert (name, base, blocks, high_capacity) == ("EMMC", 0xfe300000, CARD_MIB * 2048, False)


def test_a_file_written_at_the_repl_is_there_after_a_restart_and_on_a_pc(card):
    with boot(card) as t:
        t.exec("with open('note.txt', 'w') as f:\n f.write('kept across a power cycle\\n' * 100)\n")
    assert host_read(card, "note.txt") == b"kept across a power cycle\n" * 100
    with boot(card) as t:                   # the same card, a new QEMU: a hard reset
        assert t.eval("open('/sd/note.txt').read()") == "kept across a power cycle\n" * 100


def test_main_py_and_boot_py_on_the_card_run_at_boot(tmp_path):
    (tmp_path / "boot.py").write_text("print('boot.py from the card')\n")
    (tmp_path / "main.py").write_text("import helper\nprint('main.py from the card:', helper.VALUE)\n")
    lib = tmp_path / "helper.py"
    lib.write_text("VALUE = 42\n")
    image = sdcard.data_card(tmp_path / "card.img", CARD_MIB,
                             [tmp_path / "boot.py", tmp_path / "main.py", lib])
    require_image(BOARD)
    c = Console(Qemu(BOARD, extra=sd_args(image)))
    try:
        out = c.expect(">>> ", timeout=30)
    finally:
        c.close()
    assert "boot.py from the card" in out
    assert "main.py from the card: 42" in out
    assert out.index("boot.py from the card") < out.index("main.py from the card")


def test_filling_the_partition_gives_enospc_and_keeps_older_files(card, tmp_path):
    with boot(card) as t:
        err, written, keep_intact, free = printed_result(run_target_file(t, "sd_fill.py", timeout=300))
        assert err == 28                    # errno.ENOSPC
        assert written > 2 << 20            # most of the 3 MiB partition
        assert keep_intact and free == 0
        t.exec("import os\nos.remove('/sd/fill.bin')\n")
        assert t.eval("__import__('os').statvfs('/sd')[3]") > 4000
    assert fsck(card, tmp_path)[0] == 0, fsck(card, tmp_path)[1]
    with boot(card) as t:
        assert t.eval("sorted(__import__('os').listdir('/sd'))") == ["keep.txt"]


def test_a_qemu_killed_mid_write_leaves_a_mountable_card(card, tmp_path):
    with boot(card) as t:
        seen = []

        def kill_on_write(text):
            seen.append(text)
            if sum(s.count("writing") for s in seen) >= 20:
                os.killpg(t.qemu.proc.pid, signal.SIGKILL)

        with pytest.raises(LinkError):      # the link dies with QEMU
            t.exec(target_source("sd_write_forever.py"), timeout=60, on_output=kill_on_write)
    with boot(card) as t:                   # FAT's FatFs still mounts it
        assert "keep.txt" in t.eval("__import__('os').listdir('/sd')")
        assert t.eval("open('/sd/keep.txt').read()") == "written on the host\n"
    assert host_read(card, "keep.txt") == b"written on the host\n"
    assert "keep.txt" in host_names(card)


def test_block_device_refuses_bad_requests_with_clear_errors(card):
    with boot(card) as t:
        with pytest.raises(TargetError, match="multiple of 512"):
            t.exec("__import__('aarch64').SDCard().readblocks(0, bytearray(100))")
        with pytest.raises(TargetError, match="outside the card"):
            t.exec("__import__('aarch64').SDCard().readblocks(%d, bytearray(512))" % (CARD_MIB * 2048))
        # a direct read of the MBR, through an unaligned buffer too
        out = t.exec("m = memoryview(bytearray(513))[1:]\n__import__('aarch64').SDCard().readblocks(0, m)\n"
                     "print(bytes(m[510:512]))\n")
        assert out.strip() == "b'U\\xaa'"


def test_without_a_card_sdcard_says_enodev_and_sd_is_not_mounted():
    require_image(BOARD)
    with connect("qemu:raspi4b", timeout=30) as t:
        assert t.eval("__import__('os').getcwd()") == "/"
        out = t.exec("try:\n __import__('aarch64').SDCard()\nexcept OSError as e:\n print(e.errno, e.args[1])\n")
        assert out.strip() == "19 SD card: no card answered"      # errno.ENODEV


def test_a_high_capacity_card_uses_block_addresses(tmp_path):
    """QEMU makes a card over 2 GiB an SDHC card (block, not byte, addresses):
    a sparse 4 GiB image with a FAT32 partition, as a Pi's boot card has."""
    image = tmp_path / "sdhc.img"
    total = 8 << 20                         # sectors: 4 GiB
    with open(image, "wb") as f:
        f.truncate(total * 512)
        f.write(sdcard._mbr(total))
    subprocess.run(["mkfs.fat", "-F", "32", "--offset", str(sdcard.PART_START), str(image),
                    str((total - sdcard.PART_START) // 2)], capture_output=True, check=True)
    with boot(image) as t:
        _, _, blocks, high_capacity, _ = t.eval("__import__('aarch64').SDCard().info()")
        assert (blocks, high_capacity) == (total, True)
        t.exec("with open('/sd/far.txt', 'w') as f:\n f.write('block addressed')\n")
    assert host_read(image, "far.txt") == b"block addressed"


def test_a_card_that_stops_answering_gives_oserror_not_a_hang(card, tmp_path):
    """The card pulled out under the firmware (QEMU's eject): reads and writes
    raise OSError(ETIMEDOUT) saying which command failed, and the REPL answers."""
    qmp_path = tmp_path / "qmp.sock"
    require_image(BOARD)
    with connect("qemu:raspi4b", timeout=30,
                 qemu_extra=sd_args(card) + ["-qmp", "unix:%s,server=on,wait=off" % qmp_path]) as t:
        assert t.eval("open('/sd/keep.txt').read()") == "written on the host\n"
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(qmp_path))
            f = s.makefile("rw")
            f.readline()                                    # the greeting
            for cmd in ({"execute": "qmp_capabilities"},
                        {"execute": "eject", "arguments": {"device": "sd0", "force": True}}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                assert "return" in json.loads(f.readline()), cmd
        out = t.exec("import aarch64\nfor op, block, n in (('readblocks', 0, 2), ('writeblocks', 5000, 1)):\n"
                     " try:\n  getattr(aarch64.SDCard(), op)(block, bytearray(512 * n))\n"
                     " except OSError as e:\n  print(e.errno, e.args[1])\n", timeout=30)
        lines = out.strip().splitlines()
        assert lines[0].startswith("110 SD card read, block 0: timed out (CMD18")       # errno.ETIMEDOUT
        assert lines[1].startswith("110 SD card write, block 5000: timed out (CMD24")
        assert t.eval("6 * 7") == 42


def test_edit_load_run_keeps_the_card(tmp_path):
    """The Pi owner's loop: a new firmware over the UART (aarch64-el2 load);
    the card stays in the slot, the new firmware mounts it again, its main.py
    runs again at the new boot, and what the old firmware wrote is there."""
    (tmp_path / "main.py").write_text("with open('/sd/boots.txt', 'a') as f:\n    f.write('boot\\n')\n")
    image = sdcard.data_card(tmp_path / "card.img", CARD_MIB, [tmp_path / "main.py"])
    with boot(image) as t:
        assert t.eval("open('/sd/boots.txt').read()") == "boot\n"
        t.exec("with open('/sd/before_load.txt', 'w') as f:\n f.write('from the old firmware')\n")
        t.load_firmware(boards.image_path(BOARD))
        assert t.eval("__import__('os').getcwd()") == "/sd"
        assert t.eval("open('/sd/before_load.txt').read()") == "from the old firmware"
        assert t.eval("open('/sd/boots.txt').read()") == "boot\nboot\n"
