"""aarch64-el2 guest run: a guest kernel in a VM on the target, its console on
this terminal.

    aarch64-el2 guest run build/guests/testguest.bin --cpus 3
    aarch64-el2 guest linux --cpus 3        # Debian's kernel to a BusyBox shell (make linux-assets)
    aarch64-el2 -p qemu:raspi4b guest run Image --initrd initrd.cpio --append "console=ttyAMA0"

With a qemu: target, QEMU's loader puts the files in the target's RAM, above
the RAM the VM takes for its guest; on a running target (a pty, a serial
line) they are uploaded there over the UART (Target.upload). The firmware
then copies them into the guest (vm.VM.load(address=..., size=...)). Ctrl-] pauses the guest and ends the
command; the exit status is 0 when the guest powers off with status 0, 1
otherwise (the stop is printed), 130 when interrupted.
"""
import os
import select
import sys
import termios
import tty

from .progress import Progress
from .qemu import Qemu, QemuError
from .target_api import Target
from .transport import LinkError, Transport, parse_qemu_url, qemu_url_gic

MiB = 1 << 20
# Where the loader puts the files: in RAM the firmware maps (QEMU virt runs
# with 1 GiB at 0x4000_0000; the Pi's firmware maps its low ~940 MiB), well
# above the firmware and the guest's own RAM.
PRELOAD = {"QEMU_VIRT": (0x6000_0000, 0x8000_0000), "RPI4": (0x2000_0000, 0x3B40_0000)}
GUEST_RAM_BASE = {"QEMU_VIRT": 0x4400_0000, "RPI4": 0x0400_0000}     # about where free RAM starts
STOP_MARK = b"\x00guest-stop "


def _align(x, a=2 * MiB):
    return (x + a - 1) // a * a


def plan_preload(board, files, ram):
    """[(path, address, size)] for the loader, or a ValueError that says why not."""
    start, end = PRELOAD[board]
    if GUEST_RAM_BASE[board] + ram > start:
        raise ValueError("--ram %d MiB does not leave room below 0x%x for the preloaded files on %s"
                         % (ram // MiB, start, board))
    plan, address = [], start
    for path in files:
        size = os.path.getsize(path)
        if address + size > end:
            raise ValueError("%s (%d bytes) does not fit in the target's RAM at 0x%x" % (path, size, address))
        plan.append((path, address, size))
        address = _align(address + size)
    return plan


def setup_code(plan, args):
    lines = ["import vm",
             "v = vm.VM(ram=%d, cpus=%d, cmdline=%r)" % (args.ram, args.cpus, args.append),
             "img = v.load(address=%d, size=%d)" % plan[0][1:]]
    if args.initrd:
        lines.append("v.load_initrd(address=%d, size=%d)" % plan[1][1:])
    lines.append("print(img)")
    return "\n".join(lines) + "\n"


def _relay(transport, code):
    """Run `code` in the raw REPL with this terminal attached: the target's
    output streams to stdout, keys go to the target. Returns (output tail
    after the stop mark, error text)."""
    serial = transport.serial
    transport.exec_raw_no_follow(code)
    # Keys from a terminal (in raw mode), or lines from a pipe: a script can
    # drive the guest's shell (`printf 'nproc\npoweroff\n' | aarch64-el2 guest run ...`).
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    is_tty = fd is not None and os.isatty(fd)
    saved = termios.tcgetattr(fd) if is_tty else None
    buf, shown = bytearray(), 0
    try:
        if is_tty:
            tty.setraw(fd)
        # The raw REPL ends a run with \x04, the error text, \x04, ">".
        while not buf.endswith(b"\x04>"):
            waiting = [serial._port.fileno()] + ([fd] if fd is not None else [])
            ready, _, _ = select.select(waiting, [], [], 0.1)
            if fd is not None and fd in ready:
                data = os.read(fd, 64)
                if data:
                    serial.write(data)
                else:
                    fd = None           # end of the input: the guest runs on
            n = serial.in_waiting
            if n:
                buf += serial.read(n)
                # Show the guest's console as it comes, up to the stop report.
                end = min(i for i in (buf.find(b"\x04"), buf.find(STOP_MARK[:1]), len(buf)) if i >= 0)
                if end > shown:
                    os.write(1, bytes(buf[shown:end]))
                    shown = end
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    out, _, rest = bytes(buf[:-1]).partition(b"\x04")
    err = rest[:-1] if rest.endswith(b"\x04") else rest
    tail = out[out.find(STOP_MARK) + len(STOP_MARK):] if STOP_MARK in out else b""
    return tail.decode(errors="replace"), err.decode(errors="replace").strip()


def _files(args):
    files = [args.image] + ([args.initrd] if args.initrd else [])
    for path in files:
        if not os.path.isfile(path):
            raise ValueError("%s: no such file" % path)
    return files


def plan_upload(t, files, ram):
    """[(path, address, size)] in the free RAM above what the VM will take
    (vm.free_ram() on the target), for a running target."""
    base, size = (int(x) for x in t.exec("import vm\nprint(*vm.free_ram())").split())
    plan, address = [], _align(base + ram)
    for path in files:
        n = os.path.getsize(path)
        if address + n > base + size:
            raise ValueError("%s (%d bytes) does not fit in the target's free RAM above a %d MiB guest"
                             % (path, n, ram // MiB))
        plan.append((path, address, n))
        address = _align(address + n)
    return plan


def cmd_guest_run(args):
    port = args.port
    files = _files(args)
    if port == "qemu" or port.startswith("qemu:"):
        # QEMU's loader puts the files in the target's RAM.
        board, smp = parse_qemu_url(port)
        plan = plan_preload(board, files, args.ram)
        extra = []
        for path, address, _ in plan:
            extra += ["-device", "loader,file=%s,addr=0x%x,force-raw=on" % (os.path.abspath(path), address)]
        try:
            qemu = Qemu(board, smp=smp, extra=extra, gic=qemu_url_gic(port))
        except QemuError as e:
            raise LinkError(str(e)) from None
        t = Target(transport=Transport.boot(qemu, args.timeout))
    else:
        # A running target: the files go over its UART (aarch64-el2 upload).
        t = Target(port, timeout=args.timeout, baudrate=args.baud)
        try:
            plan = plan_upload(t, files, args.ram)
            for path, address, _ in plan:
                with Progress(os.path.basename(path)) as progress:
                    t.upload(path, address, progress=progress, fast_baud=args.fast_baud)
        except BaseException:
            t.close()
            raise
    with t:
        print(t.exec(setup_code(plan, args), timeout=60).strip(), file=sys.stderr)
        if args.dtb_out:
            blob = bytes.fromhex(t.exec("print(v.dtb().hex())", timeout=60).strip())
            with open(args.dtb_out, "wb") as f:
                f.write(blob)
        print("[guest console: Ctrl-] pauses the guest and ends]", file=sys.stderr, flush=True)
        code = "r = v.run()\nprint(%r, repr(r), r.reason, r.status)\nv.close()\n" % STOP_MARK.decode()
        tail, err = t.transport.op("guest run", lambda: _relay(t.transport, code), timeout=10 ** 9)
    if err:
        print(err, file=sys.stderr)
        return 1
    words = tail.split()
    print("\n" + (_named(tail.rsplit(" ", 2)[0], args) if words else "(no report)"), file=sys.stderr)
    if len(words) >= 2 and words[-2] == "system_off" and words[-1] == "0":
        return 0
    return 1


def _guest_elf(args):
    """The guest's ELF, for naming its ELR/FAR: --guest-elf, or IMAGE itself if it is one."""
    path = getattr(args, "guest_elf", None)
    if path is None and args.image:
        with open(args.image, "rb") as f:
            path = args.image if f.read(4) == b"\x7fELF" else None
    return path


def _named(report, args):
    """The stop report with the guest's ELR/FAR named from its ELF (symbols.py), when known."""
    path = _guest_elf(args)
    if path is None:
        return report
    from . import symbols
    try:
        return symbols.for_elf(path).annotate(report)
    except (OSError, ValueError) as e:
        print("note: %s: cannot name the guest's addresses: %s" % (path, e), file=sys.stderr)
        return report


def cmd_guest_linux(args):
    from . import linux
    args.image, args.initrd = str(linux.OUT / "Image"), str(linux.OUT / "initramfs.cpio.gz")
    for path in (args.image, args.initrd):
        if not os.path.isfile(path):
            raise ValueError("%s is missing: run 'make linux-assets' (Debian's kernel and our initramfs)" % path)
    return cmd_guest_run(args)


def add_commands(sub):
    s = sub.add_parser("guest", help="run a guest kernel in a VM on the target")
    ss = s.add_subparsers(dest="action", required=True)
    r = ss.add_parser("run", help="boot IMAGE (Linux arm64 Image, ELF or flat binary) with its console here")
    r.add_argument("image")
    r.add_argument("--initrd")
    r.add_argument("--append", default="console=ttyAMA0", help="the kernel command line")
    r.add_argument("--cpus", type=int, default=1)
    r.add_argument("--ram", type=lambda text: int(text, 0) * MiB, default=256 * MiB, help="MiB (default 256)")
    r.add_argument("--dtb-out", help="write the guest's device tree blob here too")
    r.add_argument("--guest-elf", metavar="FILE", help="the guest's ELF (default: IMAGE, if it is one): a fault's "
                   "ELR/FAR in the stop report are named <function+0xoff (file:line)>")
    from .cli import add_fast_baud
    add_fast_baud(r)
    r.set_defaults(func=cmd_guest_run)
    lx = ss.add_parser("linux", help="boot Debian's kernel with our BusyBox initramfs (make linux-assets) to a shell here")
    lx.add_argument("--append", default="console=ttyAMA0", help="the kernel command line")
    lx.add_argument("--cpus", type=int, default=2)
    lx.add_argument("--ram", type=lambda text: int(text, 0) * MiB, default=256 * MiB, help="MiB (default 256)")
    lx.add_argument("--dtb-out", help="write the guest's device tree blob here too")
    add_fast_baud(lx)
    lx.set_defaults(func=cmd_guest_linux)
