# /flash: littlefs on the board's flash bank (aarch64.Flash, QEMU virt's
# second pflash bank, a file on the host), mounted by _boot.py before each
# REPL session. /flash becomes the current directory, so the firmware then
# runs /flash/boot.py and /flash/main.py, `import x` finds /flash/x.py (and
# /flash/lib/x.py), and mpremote's `fs cp x.py :` lands here: files that are
# still there after QEMU restarts with the same backing file.
#
# littlefs keeps the filesystem mountable whatever moment a reset or a
# killed QEMU cuts a write at: a file holds what its last close() or flush()
# committed. A full flash raises OSError(ENOSPC).
#
# A filesystem is made only on a blank bank (every erase block erased, all
# 0xff, or all 0 as in a new image file; Flash.blank()) or one the host tools
# have just made empty (FRESH_MARK). A bank that holds something littlefs cannot mount is left
# alone, and the console says so: format() makes a new, empty filesystem there.
import vfs
import os
import sys
import aarch64

PATH = "/flash"
# littlefs's read and program sizes: a 4 KiB cache, one flash write buffer,
# and files up to 1 KiB live inline in their directory's block instead of
# taking a 256 KiB erase block each. littlefs reads back every program, and
# each switch between programming and reading costs QEMU a remap of the bank:
# 1 KiB writes 3.9 MB/s, 512 B 2.2 MB/s (2 MiB written from the REPL).
# 256 erase blocks: a lookahead of 32 bytes (a bit per block) sees them all.
LFS = {"readsize": 1024, "progsize": 1024, "lookahead": 32}


# What the host tools write at the start of a flash file they have just made
# empty (host_tools/boards.py, FLASH_FRESH_MARK): such a bank is formatted
# without reading its 64 MiB to see that it is blank.
FRESH_MARK = b"EL2 flash: made empty by the host tools\n"


def _marked_fresh(bdev):
    buf = bytearray(len(FRESH_MARK))
    bdev.readblocks(0, buf, 0)
    return buf == FRESH_MARK


def _fs(bdev):
    return vfs.VfsLfs2(bdev, **LFS)


def mount():
    """Mount /flash and make it the current directory; False (after saying
    why on the console) where there is no filesystem to mount."""
    try:
        bdev = aarch64.Flash()
    except OSError as e:
        print("[%s: no flash: %s]" % (PATH, e.args[0] if e.args else e))
        return False
    try:
        fs = _fs(bdev)
    except OSError as e:
        if not (_marked_fresh(bdev) or bdev.blank()):
            print("[%s: the flash holds no littlefs filesystem (%r); not mounted, nothing erased."
                  " import _flash; _flash.format() makes a new, empty one]" % (PATH, e))
            return False
        vfs.VfsLfs2.mkfs(bdev, **LFS)
        fs = _fs(bdev)
    vfs.mount(fs, PATH)
    os.chdir(PATH)
    if PATH + "/lib" not in sys.path:
        sys.path.append(PATH + "/lib")
    return True


def format():
    """A new, empty littlefs on the whole flash bank, mounted at /flash: every
    file on it is lost."""
    try:
        vfs.umount(PATH)
    except OSError:
        pass
    bdev = aarch64.Flash()
    vfs.VfsLfs2.mkfs(bdev, **LFS)
    return mount()
