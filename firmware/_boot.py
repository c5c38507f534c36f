# Run by the firmware before each REPL session: the RAM disk (aarch64.RamDisk)
# as a littlefs filesystem at /, formatted on first use. Its files survive a
# soft reset, so mpremote's `fs cp` then `run` or `exec "import x"` work.
import vfs
import aarch64

_bdev = aarch64.RamDisk()
try:
    vfs.mount(vfs.VfsLfs2(_bdev), "/")
except OSError:
    vfs.VfsLfs2.mkfs(_bdev)
    vfs.mount(vfs.VfsLfs2(_bdev), "/")
del _bdev, vfs, aarch64
