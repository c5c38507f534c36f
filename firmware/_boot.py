# Run by the firmware before each REPL session: the RAM disk (aarch64.RamDisk)
# as a littlefs filesystem at /. Its files survive a soft reset, so
# mpremote's `fs cp` then `run` or `exec "import x"` work.
#
# Only this RAM disk is ever formatted here, the firmware's own medium: a
# medium the user brings (an SD card, say) is never formatted by the
# firmware. A blank RAM disk (after a hard reset) is formatted silently; one
# that was written to but holds no filesystem any more is formatted too, and
# the console says so, since its files are gone.
import vfs
import aarch64


def _mount_ram_disk():
    bdev = aarch64.RamDisk()
    try:
        vfs.mount(vfs.VfsLfs2(bdev), "/")
        return
    except OSError as e:
        error = e
    blank = bdev.blank()
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/")
    if not blank:
        print("[/: the RAM disk holds no filesystem any more (%r): made a new, empty one; its files are lost]"
              % (error,))


_mount_ram_disk()
# The board's persistent storage, where it has some: /flash on QEMU virt
# (_flash.py), which becomes the current directory (boot.py and main.py are
# run from there).
if hasattr(aarch64, "Flash"):
    import _flash
    _flash.mount()
    del _flash
if hasattr(aarch64, "SDCard"):      # the SD card at /sd (firmware/_sdcard.py)
    __import__("_sdcard").mount_sd()
del _mount_ram_disk, vfs, aarch64
