"""The boards the firmware builds for, and how QEMU runs each.

Every board fact lives in port/boards/<BOARD>/mpconfigboard.mk, which the
port's Makefile includes; this module reads the QEMU settings from the same
file (QEMU_MACHINE, QEMU_ARGS, QEMU_SMP, QEMU_SMP_FIXED, FIRMWARE_IMAGE,
QEMU_GIC_VERSIONS, QEMU_FLASH, QEMU_FLASH_SIZE, QEMU_UPLOAD_CHANNEL).

A board with QEMU_UPLOAD_CHANNEL = virtio (virt) gets a virtio console
besides its UART (upload_channel_args): Target.upload sends its data bytes
there, the ACKs stay on the UART (QEMU's PL011 takes 16 bytes per turn of
its main loop, the virtio console 4 KiB).

A board with a flash bank (QEMU_FLASH: virt's second pflash bank, /flash on
the target) keeps its files in a backing file on the host: flash_image()
makes one (a new one is empty), qemu_command(..., flash=path) hands it to QEMU.

A board whose QEMU machine offers other GIC versions (virt: gic-version=2
or 3) runs with another one given to qemu_command (gic=3, or a target URL's
?gic=3), or for every run at once with the environment variable
EL2_QEMU_GIC=3 (say, to run the tests on a GICv3: EL2_QEMU_GIC=3 pytest
--board QEMU_VIRT ...); boards with a fixed GIC ignore the variable.
"""
import os
from collections import namedtuple
from pathlib import Path

PROJECT_TOP = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("EL2_BUILD_DIR", PROJECT_TOP / "build"))
BOARDS_DIR = PROJECT_TOP / "port" / "boards"

# How QEMU runs one board. `machine` is the name in qemu:<machine> URLs;
# `qemu_args` make's words of QEMU_ARGS; `smp` the default CPU count;
# `smp_fixed`: -smp cannot change it; `gic_versions` the GIC versions its
# machine can be given (the first is the one QEMU_ARGS asks for).
# `flash` the -drive options of its flash bank and `flash_size` the backing
# file's size (None, 0: no flash).
# `upload_channel`: "virtio" where the firmware drives a virtio console for
# uploads (None: uploads go over the UART).
Board = namedtuple("Board", "name machine qemu_args smp smp_fixed image gic_versions flash flash_size "
                            "upload_channel")

GIC_ENV = "EL2_QEMU_GIC"


class BoardError(ValueError):
    pass


def read_mk(path):
    """The `NAME = value` lines of a makefile fragment as a dict (also :=, ?=
    and +=); comments and other lines are ignored, values are not expanded."""
    settings = {}
    with open(path) as f:
        for line in f:
            name, sep, value = line.split("#", 1)[0].partition("=")
            name, op = name.rstrip(":?+ \t"), name.strip()[-1:]
            if not (sep and name.strip().isidentifier()):
                continue
            name, value = name.strip(), value.strip()
            if op == "+" and settings.get(name):
                value = settings[name] + " " + value
            if op != "?" or name not in settings:
                settings[name] = value
    return settings


def _board(path):
    mk = read_mk(path)
    try:
        return Board(name=path.parent.name, machine=mk["QEMU_MACHINE"], qemu_args=mk["QEMU_ARGS"].split(),
                     smp=int(mk["QEMU_SMP"]), smp_fixed=mk.get("QEMU_SMP_FIXED", "0") == "1",
                     image=mk["FIRMWARE_IMAGE"], gic_versions=tuple(mk.get("QEMU_GIC_VERSIONS", "").split()),
                     flash=mk.get("QEMU_FLASH"), flash_size=int(mk.get("QEMU_FLASH_SIZE", "0"), 0),
                     upload_channel=mk.get("QEMU_UPLOAD_CHANNEL") or None)
    except KeyError as e:
        raise BoardError("%s does not say %s" % (path, e.args[0])) from None
    except ValueError:
        raise BoardError("%s: QEMU_SMP and QEMU_FLASH_SIZE must be numbers" % path) from None


def _read_boards():
    return {p.parent.name: _board(p) for p in sorted(BOARDS_DIR.glob("*/mpconfigboard.mk"))}


BOARDS = _read_boards()

# qemu:<machine> names in target URLs
MACHINES = {b.machine: name for name, b in BOARDS.items()}


def qemu_url(board, smp=None):
    """'QEMU_VIRT', 2 -> 'qemu:virt?smp=2'."""
    return "qemu:%s%s" % (BOARDS[board].machine, "?smp=%d" % smp if smp else "")


def elf_path(board):
    return BUILD / board / "firmware.elf"


def image_path(board):
    return BUILD / board / BOARDS[board].image


def last_built_board():
    """The board whose firmware was built most recently (QEMU_VIRT if none)."""
    built = [(elf_path(b).stat().st_mtime, b) for b in BOARDS if elf_path(b).exists()]
    return max(built)[1] if built else "QEMU_VIRT"


def gic_args(board, gic=None):
    """The QEMU arguments that give `board` GIC version `gic` (None: the
    environment's EL2_QEMU_GIC where the board has a choice, else its own)."""
    spec = BOARDS[board]
    if gic is None:
        gic = os.environ.get(GIC_ENV) or None
        if gic is None or not spec.gic_versions:
            return []
    gic = str(gic)
    if gic not in spec.gic_versions:
        raise BoardError("%s cannot have a GIC version %s (%s)" % (
            board, gic, "only " + " or ".join(spec.gic_versions) if spec.gic_versions else "its GIC is fixed"))
    return [] if gic == spec.gic_versions[0] else ["-M", "gic-version=%s" % gic]


def default_flash_path(board):
    """Where `make run` keeps the board's flash: build/flash-<BOARD>.img,
    outside build/<BOARD>/ so `make clean` leaves the user's files alone."""
    return BUILD / ("flash-%s.img" % board)


# The first bytes of a flash file flash_image() has just made empty: the
# firmware (firmware/_flash.py, the same bytes) formats such a bank at once,
# instead of reading its 64 MiB to see that it is blank (0.3 s of each boot).
FLASH_FRESH_MARK = b"EL2 flash: made empty by the host tools\n"


def flash_image(board, path, fresh=False):
    """The backing file for `board`'s flash bank at `path`, made empty (a
    sparse file of zeros after FLASH_FRESH_MARK, which the firmware formats)
    when it does not exist or `fresh`; an existing one of another size is
    refused, as QEMU would."""
    spec = BOARDS[board]
    if not spec.flash:
        raise BoardError("%s has no flash bank to back with a file" % board)
    path = Path(path)
    if fresh or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".new")
        with open(tmp, "wb") as f:
            f.write(FLASH_FRESH_MARK)
            f.truncate(spec.flash_size)
        os.replace(tmp, path)
    elif path.stat().st_size != spec.flash_size:
        raise BoardError("%s is %d bytes; %s's flash bank needs exactly %d (%d MiB): move it away, or start"
                         " an empty one (make run FRESH=1, --fresh)" % (
                             path, path.stat().st_size, board, spec.flash_size, spec.flash_size >> 20))
    return path


def flash_args(board, path):
    """QEMU's arguments for `board`'s flash bank backed by `path`."""
    spec = BOARDS[board]
    if not spec.flash:
        raise BoardError("%s has no flash bank to back with a file" % board)
    return ["-drive", "%s,file=%s" % (spec.flash, str(path).replace(",", ",,"))]


def upload_channel_args(board, path):
    """QEMU's arguments for `board`'s upload channel: a virtio console whose
    other end is a unix socket QEMU listens on at `path` (one client at a
    time; Target.upload connects for each upload). [] for a board without one."""
    if BOARDS[board].upload_channel != "virtio":
        return []
    return ["-device", "virtio-serial-device",
            "-chardev", "socket,id=upload,path=%s,server=on,wait=off" % str(path).replace(",", ",,"),
            "-device", "virtconsole,chardev=upload"]


def qemu_command(board, smp=None, extra=(), gic=None, flash=None):
    """QEMU's command line for `board`; `flash` a backing file for its flash
    bank (see flash_image; without one QEMU keeps the bank in RAM)."""
    spec = BOARDS[board]
    cmd = ["qemu-system-aarch64"] + spec.qemu_args + gic_args(board, gic)
    if not spec.smp_fixed:
        cmd += ["-smp", str(smp or spec.smp)]
    elif smp not in (None, spec.smp):
        raise ValueError("%s always has %d CPUs" % (board, spec.smp))
    cmd += ["-kernel", str(image_path(board))]
    if flash is not None:
        cmd += flash_args(board, flash)
    return cmd + list(extra)
