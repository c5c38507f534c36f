"""The boards the firmware builds for, and how QEMU runs each."""
import os
from pathlib import Path

PROJECT_TOP = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("EL2_BUILD_DIR", PROJECT_TOP / "build"))

BOARDS = {
    "QEMU_VIRT": {
        "image": "firmware.elf",
        "qemu": ["-M", "virt,virtualization=on,gic-version=2", "-cpu", "cortex-a72", "-m", "256M", "-nic", "none"],
        "smp": True,        # -smp N chooses the CPU count
        "default_smp": 4,
    },
    "RPI4": {
        "image": "kernel8.img",
        "qemu": ["-M", "raspi4b"],
        "smp": False,       # always 4 cores
        "default_smp": 4,
    },
}

# qemu:<machine> names in target URLs
MACHINES = {"virt": "QEMU_VIRT", "raspi4b": "RPI4"}


def elf_path(board):
    return BUILD / board / "firmware.elf"


def image_path(board):
    return BUILD / board / BOARDS[board]["image"]


def last_built_board():
    """The board whose firmware was built most recently (QEMU_VIRT if none)."""
    built = [(elf_path(b).stat().st_mtime, b) for b in BOARDS if elf_path(b).exists()]
    return max(built)[1] if built else "QEMU_VIRT"


def qemu_command(board, smp=None, extra=()):
    spec = BOARDS[board]
    cmd = ["qemu-system-aarch64"] + spec["qemu"]
    if spec["smp"]:
        cmd += ["-smp", str(smp or spec["default_smp"])]
    elif smp not in (None, spec["default_smp"]):
        raise ValueError("%s always has %d CPUs" % (board, spec["default_smp"]))
    cmd += ["-kernel", str(image_path(board))]
    return cmd + list(extra)
