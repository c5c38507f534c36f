"""aarch64-el2 load [FILE]: a new firmware over the UART, started in place of
the running one (Target.load_firmware; machine.bootloader() on the target).

    aarch64-el2 -p /dev/ttyUSB0 load build/RPI4/kernel8.img
    aarch64-el2 -p /dev/pts/5 load build/QEMU_VIRT/firmware.elf   (a QEMU from `aarch64-el2 boot`)
    aarch64-el2 -p /dev/ttyUSB0 load --fast-baud 921600           (8x faster where the adapter can)

FILE is the image the board's boot loader starts (kernel8.img on the Pi)
or the firmware ELF (sent as the bytes it loads); without FILE, the image
of the board the port names (qemu:virt, qemu:raspi4b), else the Pi's.
"""

from elftools.common.exceptions import ELFError

from . import boards
from .elf import flat_image
from .progress import Progress
from .target_api import UPLOAD_BLOCK, Target, channel_text
from .transport import parse_qemu_url


def default_image(port):
    """The image for the board behind `port`: a qemu: URL names it; a serial
    line is taken for a Pi."""
    if port == "qemu" or port.startswith("qemu:"):
        return str(boards.image_path(parse_qemu_url(port)[0]))
    return str(boards.image_path("RPI4"))


def cmd_load(args):
    path = args.file or default_image(args.port)
    try:
        image = flat_image(path)
    except OSError as e:
        raise ValueError("cannot read %s: %s" % (path, e.strerror)) from None
    except ELFError as e:
        raise ValueError("%s: not a usable ELF: %s" % (path, e)) from None
    with Target(args.port, timeout=args.timeout, baudrate=args.baud) as t, Progress() as progress:
        r = t.load_firmware(image, progress=progress, block=args.block, fast_baud=args.fast_baud,
                            channel="uart" if args.uart else None)
    at = " at %d baud" % r.baud if r.channel == "uart" and args.fast_baud else ""
    print("%s: %d bytes sent as %d line bytes%s in %.2f s over %s, CRC-32 checked; the new firmware answered "
          "%.2f s after the start:\n%s" % (path, r.payload, r.line, at, r.transfer, channel_text(r.channel),
                                           r.seconds, r.banner))


def add_commands(sub):
    s = sub.add_parser("load", help="a new firmware over the UART (or the virtio console where there is one), "
                                    "started in place of the running one")
    s.add_argument("file", nargs="?", help="kernel8.img, firmware.elf or another image of this board's firmware "
                   "(default: the image of the board the port names)")
    s.add_argument("--block", type=int, default=UPLOAD_BLOCK, help="bytes per acknowledged block (default %(default)s)")
    s.add_argument("--uart", action="store_true",
                   help="send over the UART even where an upload channel is known (qemu:virt, $EL2_UPLOAD_CHANNEL)")
    from .cli import add_fast_baud
    add_fast_baud(s)
    s.set_defaults(func=cmd_load)
