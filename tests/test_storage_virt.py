"""/flash on QEMU virt: littlefs on the second pflash bank, a file on the host
(firmware/_flash.py, port/flash_cfi.c). Every test gives QEMU a backing file
of its own in tmp_path and restarts QEMU on it: what was written is there
after the restart, /flash/main.py runs at boot, a full flash says ENOSPC and
keeps its files, and a QEMU killed in the middle of a write leaves a
filesystem that mounts with its old files intact.

The on-target code is tests/target/flash_*.py (runnable by hand with
mpremote run, in /flash)."""
import hashlib
import os
import signal

import pytest

from host_tools import boards, connect
from host_tools.qemu import Qemu

from conftest import Console, require_image, target_result

BOARD = "QEMU_VIRT"
ENOSPC = 28


@pytest.fixture
def flash(tmp_path):
    require_image(BOARD)
    return tmp_path / "flash.img"


def boot(flash):
    return connect("qemu:virt?flash=%s" % flash, timeout=10)


def flash_content(name, size):
    """The bytes tests/target/flash_files.py writes to `name`."""
    lines = (("%-63s\n" % ("%s %d" % (name, k))).encode() for k in range((size + 63) // 64))
    return b"".join(lines)[:size]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def files_on(t, files):
    """{name: None or (size, sha256, read ms)} for the files on /flash."""
    cwd, found = target_result(t, "flash_files.py", timeout=120, MODE="check", FILES=files)
    assert cwd == "/flash"
    return found


def assert_intact(found, files):
    for name, size in files.items():
        assert found[name] is not None, "%s is gone" % name
        assert found[name][:2] == (size, sha256(flash_content(name, size))), name


def test_a_blank_flash_is_formatted_and_is_the_current_directory(flash):
    with boot(flash) as t:
        assert t.exec("import os; print(os.getcwd(), os.listdir(), os.statvfs('/flash')[:3])").split() == \
            ["/flash", "[]", "(262144,", "262144,", "256)"]        # 256 erase blocks of 256 KiB: 64 MiB
    assert flash.stat().st_size == boards.BOARDS[BOARD].flash_size
    with open(flash, "rb") as f:        # the host tools' fresh mark, erased by the format
        assert f.read(len(boards.FLASH_FRESH_MARK)) != boards.FLASH_FRESH_MARK


def test_a_flash_file_of_zeros_made_elsewhere_is_formatted_too(flash):
    # Without the host tools' mark (boards.FLASH_FRESH_MARK) the firmware
    # reads the whole bank to see it is blank before it formats it.
    with open(flash, "wb") as f:
        f.truncate(boards.BOARDS[BOARD].flash_size)
    with boot(flash) as t:
        assert t.exec("import os; print(os.getcwd(), os.listdir())").split() == ["/flash", "[]"]


def test_files_written_are_there_after_qemu_restarts(flash):
    files = {"small.txt": 300, "one_block.bin": 256 << 10, "big.bin": 3 << 20}
    with boot(flash) as t:
        cwd, written = target_result(t, "flash_files.py", timeout=120, MODE="write", FILES=files)
    ms = written.pop("ms")
    assert written == files
    with boot(flash) as t:                          # a new QEMU on the same file
        found = files_on(t, files)
        assert t.exec("import os; print(sorted(os.listdir()))").strip() == repr(sorted(files))
    assert_intact(found, files)
    total = sum(files.values())
    read_ms = sum(v[2] for v in found.values())
    print("\n/flash: wrote %d KiB at %.0f KB/s, read it back at %.0f KB/s" % (
        total >> 10, total / max(ms, 1), total / max(read_ms, 1)))


def test_boot_py_and_main_py_on_the_flash_run_at_boot(flash):
    with boot(flash) as t:
        t.exec("import os; os.mkdir('lib')\n"
               "for name, text in (('boot.py', 'print(\"boot.py from /flash ran\")'),\n"
               "                   ('main.py', 'print(\"main.py from /flash ran\")'),\n"
               "                   ('lib/flashmod.py', 'X = 42')):\n"
               "    with open(name, 'w') as f:\n"
               "        f.write(text + '\\n')\n")
    c = Console(Qemu(BOARD, flash=flash))
    try:
        banner = c.expect(">>> ", timeout=20)
        assert "boot.py from /flash ran" in banner and "main.py from /flash ran" in banner
        assert banner.index("boot.py from") < banner.index("main.py from") < banner.index("MicroPython v")
        c.send("import flashmod; print(flashmod.X * 2)\r")          # /flash/lib is on sys.path
        assert "84" in c.expect(">>> ")
    finally:
        c.close()


def test_a_full_flash_says_enospc_and_keeps_its_files(flash):
    keep = {"keep.txt": 5000, "keep.bin": 300 << 10}
    with boot(flash) as t:
        target_result(t, "flash_files.py", timeout=120, MODE="write", FILES=keep)
        err, written, ms, free_full, close_err, size, free_after = target_result(t, "flash_fill.py", timeout=600)
        assert err == ENOSPC
        assert written > 60 << 20                       # most of the 64 MiB was there to fill
        assert free_full <= 1 and free_after > 200      # full, then the space came back
        # littlefs commits nothing of a file whose write failed: it keeps what
        # its last flush committed, here (never flushed) the empty file open() made.
        assert close_err in (None, ENOSPC) and size == 0
        assert_intact(files_on(t, keep), keep)
        t.exec("with open('after.txt', 'w') as f: f.write('still writable')")
    with boot(flash) as t:                              # and it mounts again after a restart
        assert_intact(files_on(t, keep), keep)
        assert t.exec("print(open('after.txt').read())").strip() == "still writable"
    print("\n/flash: filled %d MiB at %.0f KB/s" % (written >> 20, written / max(ms, 1)))


def test_a_qemu_killed_in_the_middle_of_a_write_leaves_a_mountable_filesystem(flash):
    keep = {"keep.txt": 5000, "keep.bin": 300 << 10}
    with boot(flash) as t:
        target_result(t, "flash_files.py", timeout=120, MODE="write", FILES=keep)
    q = Qemu(BOARD, flash=flash)
    c = Console(q)
    try:
        c.expect(">>> ", timeout=20)
        from conftest import target_source
        code = target_source("flash_long_write.py", NAME="long.bin", TOTAL=16 << 20, FLUSH=64 << 10)
        c.send("exec(%r)\r" % code)
        c.expect("flushed %d" % (1 << 20), timeout=120)    # well into the write, and still writing
        os.killpg(q.proc.pid, signal.SIGKILL)              # the power goes
        q.proc.wait()
    finally:
        c.close()
    c = Console(Qemu(BOARD, flash=flash))
    try:
        banner = c.expect(">>> ", timeout=20)
        assert "[/flash" not in banner                     # mounted, not refused
    finally:
        c.close()
    with boot(flash) as t:
        assert_intact(files_on(t, keep), keep)
        size, digest, _ = files_on(t, {"long.bin": 0})["long.bin"]
        # What the last flush committed (at least the 1 MiB seen), never garbage.
        assert size >= 1 << 20 and size % (64 << 10) == 0
        assert digest == sha256(flash_content("long.bin", size))
        t.exec("with open('after.txt', 'w') as f: f.write('ok')")
        assert t.exec("print(open('after.txt').read())").strip() == "ok"


def test_a_flash_that_holds_something_else_is_left_alone_until_formatted_on_purpose(flash):
    # A file the host tools did not just make empty (no FLASH_FRESH_MARK):
    # the firmware reads the whole bank before it formats anything.
    with open(flash, "wb") as f:
        f.truncate(boards.BOARDS[BOARD].flash_size)
        f.seek(5 << 20)
        f.write(b"someone else's data" * 100)
    c = Console(Qemu(BOARD, flash=flash))
    try:
        banner = c.expect(">>> ", timeout=20)
        assert "[/flash: the flash holds no littlefs filesystem" in banner and "_flash.format()" in banner
        c.send("import os; print(os.getcwd(), 'flash' in os.listdir('/'))\r")
        assert "/ False" in c.expect(">>> ")                    # not mounted
    finally:
        c.close()
    data = flash.read_bytes()
    assert data[5 << 20:(5 << 20) + 1900] == b"someone else's data" * 100     # nothing erased
    with boot(flash) as t:
        assert t.exec("import _flash; print(_flash.format())").strip() == "True"
        assert t.exec("import os; print(os.getcwd(), os.listdir())").strip() == "/flash []"
    with boot(flash) as t:                                      # and it is mounted from then on
        assert t.exec("import os; print(os.getcwd())").strip() == "/flash"


def test_a_flash_that_refuses_to_program_gives_oserror_eio_and_keeps_its_files(flash):
    # QEMU's read-only pflash fails every erase and program in its status
    # register, as worn-out or locked flash does: the write is refused with
    # OSError(EIO), the status word is kept, and the REPL and the files stay.
    keep = {"keep.txt": 5000}
    with boot(flash) as t:
        target_result(t, "flash_files.py", timeout=120, MODE="write", FILES=keep)
    cmd = boards.qemu_command(BOARD, flash=flash, extra=["-display", "none", "-monitor", "none", "-serial", "pty"])
    drive = cmd.index("-drive") + 1
    cmd[drive] += ",readonly=on"
    c = Console(Qemu(command=cmd))
    try:
        c.expect(">>> ", timeout=20)
        c.send("import aarch64\r")
        c.expect(">>> ")
        c.send("try:\r  f = open('new.txt', 'w'); f.write('x' * 5000); f.close()\rexcept OSError as e:\r"
               "  print('errno', e.errno, aarch64.Flash().last_error())\r\r")
        out = c.expect(">>> ", timeout=30)
        assert "errno 5 (" in out, out                    # EIO, with the failed operation and status
        op, status = eval(out[out.index("errno 5 ") + 8:].splitlines()[0])
        assert op in ("erase", "program") and status & 0x00300030    # SR5 erase or SR4 program error
        c.send("print(open('keep.txt').read(64))\r")
        assert "keep.txt 0" in c.expect(">>> ")
    finally:
        c.close()
    with boot(flash) as t:                              # writable again: nothing was harmed
        assert_intact(files_on(t, keep), keep)
