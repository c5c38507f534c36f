"""An initramfs for the Linux guest: a newc cpio archive, gzip-compressed.

    c = Cpio()
    c.directory("bin")
    c.file("bin/busybox", data, mode=0o755)
    c.symlink("bin/sh", "busybox")
    c.device("dev/console", "c", 5, 1)
    blob = c.gzip()

The format is the kernel's (Documentation/driver-api/early-userspace/
buffer-format.rst): per entry a 110-byte ASCII header ("070701" and 13 hex
fields), the NUL-terminated name padded to 4 bytes, the data padded to 4
bytes; a "TRAILER!!!" entry ends it. Owner root, mtime 0 and inode numbers in
order make the archive the same bytes every time.

guest_root(busybox) is the guest's whole root: BusyBox, our /init, and the
/etc files BusyBox init reads.
"""
import gzip
import posixpath
import stat

MAGIC = b"070701"
TRAILER = "TRAILER!!!"

# What the guest prints when its shell is ready, then its prompt (/etc/profile).
SHELL_MARKER = "linux-guest: BusyBox shell ready"
PROMPT = "guest# "


class CpioError(ValueError):
    pass


def _pad4(n):
    return (4 - n % 4) % 4


class Cpio:
    """A newc archive built in memory, entries in the order added; a path's
    parent directories are added first when missing."""

    def __init__(self):
        self.entries = []       # (name, mode, data, rdev_major, rdev_minor)
        self.names = set()

    def _add(self, path, mode, data=b"", rdev=(0, 0)):
        name = posixpath.normpath(path.lstrip("/"))
        if name in (".", "") or name.startswith("..") or name == TRAILER:
            raise CpioError("%r is not a path inside the archive" % path)
        if name in self.names:
            raise CpioError("%s is in the archive twice" % name)
        parent = posixpath.dirname(name)
        if parent and parent not in self.names:
            self.directory(parent)
        self.names.add(name)
        self.entries.append((name, mode, bytes(data), rdev))

    def directory(self, path, mode=0o755):
        self._add(path, stat.S_IFDIR | mode)

    def file(self, path, data, mode=0o644):
        self._add(path, stat.S_IFREG | mode, data)

    def symlink(self, path, target):
        # A symlink's data is its target, without a NUL.
        self._add(path, stat.S_IFLNK | 0o777, target.encode())

    def device(self, path, kind, major, minor, mode=0o600):
        types = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}
        if kind not in types:
            raise CpioError("device kind %r: 'c' (character) or 'b' (block)" % kind)
        self._add(path, types[kind] | mode, rdev=(major, minor))

    @staticmethod
    def _entry(ino, name, mode, data, rdev):
        encoded = name.encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(mode) else 1
        fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = MAGIC + b"".join(b"%08X" % f for f in fields)
        return (header + encoded + bytes(_pad4(len(header) + len(encoded)))
                + data + bytes(_pad4(len(data))))

    def bytes(self):
        parts = [self._entry(i + 1, *e) for i, e in enumerate(self.entries)]
        parts.append(self._entry(0, TRAILER, 0, b"", (0, 0)))
        return b"".join(parts)

    def gzip(self):
        return gzip.compress(self.bytes(), compresslevel=9, mtime=0)


# -- the guest's root ----------------------------------------------------

# PID 1. The kernel runs /init from the initramfs with /dev/console as its
# stdio. It links BusyBox's applets (sh, mount, poweroff, ...) and becomes
# BusyBox init with exec, so it stays PID 1: poweroff and reboot signal PID 1,
# which a shell script would ignore.
INIT = """\
#!/bin/busybox sh
# /init of the Linux guest (host_tools/initramfs.py).
/bin/busybox --install -s
exec /bin/busybox init
"""

# BusyBox init's table: sysinit lines run first, in order, then the shell.
# On poweroff/reboot init kills every process and calls reboot(2), which the
# arm64 kernel turns into PSCI SYSTEM_OFF / SYSTEM_RESET.
INITTAB = """\
# /etc/inittab of the Linux guest (host_tools/initramfs.py), read by BusyBox init.
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -t sysfs sysfs /sys
::sysinit:/bin/mount -t devtmpfs devtmpfs /dev
# A login shell ('-': it reads /etc/profile) on the console UART, its
# controlling terminal, so Ctrl-C reaches what runs in it.
ttyAMA0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
"""

PROFILE = """\
# /etc/profile of the Linux guest (host_tools/initramfs.py).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PS1='%s'
echo '%s'
""" % (PROMPT, SHELL_MARKER)


def guest_root(busybox):
    """The guest's root filesystem as a Cpio, around a static BusyBox binary."""
    c = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root"):
        c.directory(d)
    c.directory("tmp", mode=0o1777)
    # The kernel opens /dev/console for /init before anything is mounted.
    c.device("dev/console", "c", 5, 1)
    c.file("bin/busybox", busybox, mode=0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", INIT.encode(), mode=0o755)
    c.file("etc/inittab", INITTAB.encode())
    c.file("etc/profile", PROFILE.encode())
    return c
