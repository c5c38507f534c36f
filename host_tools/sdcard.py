"""The Raspberry Pi 4 boot card: build a FAT image, write it to a card.

    aarch64-el2 sdcard build [--firmware-dir DIR] [-o build/RPI4/sdcard.img]
    aarch64-el2 sdcard write /dev/sdX --yes      (or an image file)
    aarch64-el2 sdcard copy /media/you/bootfs    (an already mounted boot partition)

The image has an MBR with one FAT32 partition (type 0x0C, as the Pi's
bootloader maintainers advise), made with mkfs.fat and filled with mtools:
nothing is mounted and nothing needs root. The Pi's boot files
come from --firmware-dir, or from Debian: start4.elf and fixup4.dat from the
raspi-firmware package (non-free-firmware), bcm2711-rpi-4-b.dtb from the
arm64 kernel package, downloaded once into build/deps with a private apt
configuration (the system's apt setup is not touched).
"""
import glob
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

from . import boards, debian
from .target import guest_image

BOOT_FILES = ("start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb")
IMAGE_MIB = 64
PART_START = 2048          # sectors: the partition starts at 1 MiB

FAT32_PARTITION = 0x0C     # FAT32 with LBA addressing
FAT16_PARTITION = 0x0E     # FAT16 with LBA addressing
PI_RAM_BASE = 0
PI_MIN_RAM = 1 << 30       # every Pi 4 has at least 1 GiB

CONFIG_TXT = """\
# config.txt for the MicroPython EL2 firmware on a Raspberry Pi 4.
# Read by the GPU boot firmware (start4.elf) before any ARM code runs.

# Start the Cortex-A72 cores in AArch64 and enter the kernel at EL2.
arm_64bit=1
# Our firmware image, linked to run at 0x80000. Current firmware loads a
# 64-bit kernel there only if it carries the arm64 Image header (ours does)
# or this line says so; otherwise at 0x200000, where it cannot run.
kernel=kernel8.img
kernel_address=0x%x
# The GPU firmware's own stub (armstub8-gic) enters kernel8.img at EL2, parks
# CPUs 1-3 on the spin table at 0xd8, and puts every interrupt in Group 1 so
# the firmware (Non-secure) can use the GIC-400. Without it no interrupt
# arrives: the firmware says so at boot and polls its console instead.
enable_gic=1
# Turn the UART on. On a Pi 4 this routes GPIO 14/15 to the mini UART; the
# firmware routes them to the PL011 (UART0, ALT0) itself, with a pull-up on
# RXD, and programs 115200 8N1.
enable_uart=1
# The PL011 clock the firmware's baud divisors assume (IBRD 26, FBRD 3).
init_uart_clock=48000000
"""


class SdCardError(Exception):
    pass


def kernel_address(kernel):
    """Where kernel8.img must be loaded: the text_offset of its arm64 Image
    header above the Pi's RAM base, the firmware's link address."""
    try:
        img = guest_image.parse(Path(kernel).read_bytes(), PI_MIN_RAM, ram_base=PI_RAM_BASE, kind="linux")
    except ValueError as e:
        raise SdCardError("%s is not a kernel8.img with an arm64 Image header (%s): rebuild it" % (kernel, e)) from None
    return img.entry


def config_txt(kernel):
    return CONFIG_TXT % kernel_address(kernel)


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise SdCardError("%s failed: %s" % (" ".join(cmd[:2]), (r.stderr or r.stdout).strip()[-300:]))
    return r.stdout


def debian_boot_files(cache=None):
    """start4.elf, fixup4.dat and bcm2711-rpi-4-b.dtb from Debian packages; a
    folder holding them (downloaded once)."""
    cache = Path(cache or boards.BUILD / "deps" / "raspi-boot")
    out = cache / "files"
    if all((out / f).exists() for f in BOOT_FILES):
        return out
    apt = debian.DebianApt(cache / "apt", components=("main", "non-free-firmware"))
    debian.say("fetching the Raspberry Pi boot files from Debian (raspi-firmware, linux-image-arm64)")
    tmp = cache / "extract"
    try:
        for package, members in (("raspi-firmware", ["./usr/lib/raspi-firmware/start4.elf",
                                                      "./usr/lib/raspi-firmware/fixup4.dat"]),
                                 (apt.first_dependency("linux-image-arm64"),
                                  ["./usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb"])):
            deb = apt.download(package)
            apt.extract(deb, tmp, members)
            os.remove(deb.path)
    except debian.DebianError as e:
        raise SdCardError("%s: use --firmware-dir" % e) from None
    out.mkdir(parents=True, exist_ok=True)
    for name, pattern in (("start4.elf", "usr/lib/raspi-firmware/start4.elf"),
                          ("fixup4.dat", "usr/lib/raspi-firmware/fixup4.dat"),
                          ("bcm2711-rpi-4-b.dtb", "usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb")):
        found = glob.glob(str(tmp / pattern))
        if not found:
            raise SdCardError("%s is not in the Debian packages" % name)
        shutil.copy(found[0], out / name)
    shutil.rmtree(tmp)
    return out


def _mbr(total_sectors, kind=FAT32_PARTITION):
    """An MBR with one FAT32 (LBA) partition (or `kind`) from PART_START to the end."""
    entry = struct.pack("<B3sB3sII", 0x00, b"\xfe\xff\xff", kind, b"\xfe\xff\xff",
                        PART_START, total_sectors - PART_START)
    return bytes(446) + entry + bytes(48) + b"\x55\xaa"


def build_image(output, kernel, firmware_dir=None):
    kernel = Path(kernel)
    if not kernel.exists():
        raise SdCardError("%s not found: run 'make firmware BOARD=RPI4'" % kernel)
    src = Path(firmware_dir) if firmware_dir else debian_boot_files()
    missing = [f for f in BOOT_FILES if not (src / f).exists()]
    if missing:
        raise SdCardError("%s lacks %s" % (src, ", ".join(missing)))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    total = IMAGE_MIB * 2048
    with open(tmp, "wb") as f:
        f.truncate(total * 512)
        f.write(_mbr(total))
    # FAT32 needs at least 65525 clusters: 512-byte ones on this 63 MiB partition.
    _run(["mkfs.fat", "-F", "32", "-s", "1", "-n", "BOOT", "--offset", str(PART_START), str(tmp),
          str((total - PART_START) // 2)])
    config = output.parent / "config.txt"
    config.write_text(config_txt(kernel))
    part = "%s@@%d" % (tmp, PART_START * 512)
    files = [str(src / f) for f in BOOT_FILES] + [str(kernel), str(config)]
    _run(["mcopy", "-o", "-i", part, *files, "::"])
    os.replace(tmp, output)
    return output


def data_card(output, mib=4, files=()):
    """A small card image for QEMU's raspi4b: an MBR with one FAT partition
    from 1 MiB to the end (FAT16, 512-byte clusters) holding `files` (host
    paths). QEMU wants a power-of-two card size."""
    if mib < 4 or mib > 32 or mib & (mib - 1):
        raise SdCardError("a card of %d MiB: QEMU's SD card model wants a power of two; 4 to 32 MiB here" % mib)
    output = Path(output)
    total = mib * 2048
    with open(output, "wb") as f:
        f.truncate(total * 512)
        f.write(_mbr(total, FAT16_PARTITION))
    _run(["mkfs.fat", "-F", "16", "-s", "1", "-n", "MPYSD", "--offset", str(PART_START), str(output), str((total - PART_START) // 2)])
    if files:
        _run(["mcopy", "-o", "-i", "%s@@%d" % (output, PART_START * 512), *[str(f) for f in files], "::"])
    return output


def list_image(image):
    return _run(["mdir", "-b", "-i", "%s@@%d" % (image, PART_START * 512), "::"]).split()


# -- writing --------------------------------------------------------------

def _block_device_facts(dev):
    name = os.path.basename(os.path.realpath(dev))
    sysdir = Path("/sys/class/block") / name
    if (sysdir / "partition").exists():
        raise SdCardError("%s is a partition: name the whole card (e.g. /dev/sdb, /dev/mmcblk0)" % dev)
    removable = (sysdir / "removable").read_text().strip() == "1" if (sysdir / "removable").exists() else False
    size = int((sysdir / "size").read_text()) * 512 if (sysdir / "size").exists() else 0
    model = (sysdir / "device" / "model").read_text().strip() if (sysdir / "device" / "model").exists() else "?"
    parts = sorted(p.name for p in sysdir.iterdir() if p.name.startswith(name) and (p / "partition").exists())
    return name, removable, size, model, parts


def _mounted(names):
    mounted = []
    with open("/proc/mounts") as f:
        for line in f:
            source = line.split()[0]
            if os.path.basename(source) in names:
                mounted.append("%s on %s" % (source, line.split()[1]))
    return mounted


def write_image(image, dev, yes=False, out=sys.stdout):
    st = os.stat(dev) if os.path.exists(dev) else None
    if st is not None and stat.S_ISBLK(st.st_mode):
        name, removable, size, model, parts = _block_device_facts(dev)
        mounted = _mounted([name] + parts)
        if mounted:
            raise SdCardError("refusing %s: it holds mounted filesystems (%s); unmount them first" % (dev, "; ".join(mounted)))
        if not removable:
            raise SdCardError("refusing %s: it is not a removable device" % dev)
        print("%s: %s, %.1f GB, partitions: %s -- all of it will be overwritten"
              % (dev, model, size / 1e9, ", ".join(parts) or "none"), file=out)
    elif st is None or stat.S_ISREG(st.st_mode):
        print("%s: an image file; it will be overwritten" % dev, file=out)
    else:
        raise SdCardError("%s is neither a block device nor a file" % dev)
    if not yes:
        raise SdCardError("nothing written: add --yes to overwrite %s" % dev)
    with open(image, "rb") as src, open(dev, "r+b" if st is not None else "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    print("wrote %s to %s" % (image, dev), file=out)


def copy_to_mounted(image, directory):
    """Copy the boot files into an already mounted boot partition."""
    d = Path(directory)
    if not d.is_dir():
        raise SdCardError("%s is not a directory (a mounted boot partition)" % d)
    _run(["mcopy", "-n", "-o", "-i", "%s@@%d" % (image, PART_START * 512), "::*", str(d)])
    return sorted(p.name for p in d.iterdir())


# -- CLI ------------------------------------------------------------------

def add_commands(sub):
    s = sub.add_parser("sdcard", help="Raspberry Pi 4 boot card: build, write, copy")
    ss = s.add_subparsers(dest="action", required=True)
    b = ss.add_parser("build", help="build the FAT boot image")
    b.add_argument("--firmware-dir", help="folder with start4.elf, fixup4.dat, bcm2711-rpi-4-b.dtb (default: from Debian)")
    b.add_argument("--kernel", default=str(boards.BUILD / "RPI4" / "kernel8.img"))
    b.add_argument("-o", "--output", default=str(boards.BUILD / "RPI4" / "sdcard.img"))
    b.set_defaults(func=_cmd_build)
    w = ss.add_parser("write", help="write the image to a card (or an image file)")
    w.add_argument("device")
    w.add_argument("--image", default=str(boards.BUILD / "RPI4" / "sdcard.img"))
    w.add_argument("--yes", action="store_true", help="really overwrite the device")
    w.set_defaults(func=_cmd_write)
    c = ss.add_parser("copy", help="copy the boot files into a mounted boot partition")
    c.add_argument("directory")
    c.add_argument("--image", default=str(boards.BUILD / "RPI4" / "sdcard.img"))
    c.set_defaults(func=_cmd_copy)


def _cmd_build(args):
    try:
        out = build_image(args.output, args.kernel, args.firmware_dir)
        print("%s: %s" % (out, " ".join(list_image(out))))
    except SdCardError as e:
        raise ValueError(str(e)) from None


def _cmd_write(args):
    try:
        if not os.path.exists(args.image):
            raise SdCardError("%s not found: run 'make sdcard' first" % args.image)
        write_image(args.image, args.device, args.yes)
    except (SdCardError, OSError) as e:
        raise ValueError(str(e)) from None


def _cmd_copy(args):
    try:
        print(" ".join(copy_to_mounted(args.image, args.directory)))
    except SdCardError as e:
        raise ValueError(str(e)) from None
