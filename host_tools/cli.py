# PYTHON_ARGCOMPLETE_OK
"""aarch64-el2: drive the EL2 firmware from the host.

    aarch64-el2 boot                      start QEMU, print the port, wait (Ctrl-C stops)
    eval "$(aarch64-el2 boot --env)"      the same in the background, EL2_PORT (and EL2_UPLOAD_CHANNEL) set here
    aarch64-el2 devs                      the serial ports on this machine
    aarch64-el2 repl                      the REPL on this terminal (mpremote)
    aarch64-el2 exec CODE | run FILE.py   run code on the target, print its output
    aarch64-el2 status [--json]           per-CPU pcpu state
    aarch64-el2 enable|disable (--cpu N | --all) [--json]
    aarch64-el2 sysreg read NAME [--cpu N] | sysreg write NAME VALUE [--cpu N]
    aarch64-el2 inspect [firmware.elf] [--symbol NAME | --address ADDR] [--json]
    aarch64-el2 guest run IMAGE [--initrd F] [--append CMDLINE] [--cpus N] [--ram MiB]
    aarch64-el2 put FILE [PATH] | get PATH [FILE] | fs cp|ls|cat|rm  files on the target (RAM disk)
    aarch64-el2 upload FILE ADDRESS       FILE into the target's RAM at ADDRESS (binary, deflated, CRC-32 checked)
    aarch64-el2 load [FILE]               a new firmware over the UART, started in place of the running one

--port names the target everywhere: a serial device, socket://host:port, or
qemu:virt[?smp=N] / qemu:raspi4b / qemu (boots the last built firmware in
QEMU for the duration of the command; the default). The global options
(-p, -t, -b, --json, --elf) go before or after the command. With the
firmware's ELF known (--elf, $EL2_ELF, or a qemu: target's build), ELR and
FAR in a fault report are named: ELR_EL2=0x... <function+0xoff (file:line)>.

exec and run print the program's output as it runs. -t bounds how long the
target may stay silent (no output, no prompt), not the run; --timeout
bounds the whole run. Ctrl-C stops the program on the target and leaves
the link usable.

exit status:
  0    success
  1    the target raised an exception (its traceback is shown), or the
       command failed (the error says why)
  2    usage: a bad option, argument or target URL
  3    the link failed: the target did not answer, QEMU died or the port
       cannot be opened; or the run outlasted --timeout
  130  interrupted (Ctrl-C)
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

from . import boards
from .progress import Progress
from .qemu import Qemu, QemuError
from .regfmt import canonical_name, describe
from .target import pcpu_status, sysregs
from .target_api import UPLOAD_BLOCK, Target, channel_text
from .transport import (DEFAULT_BAUD, DEFAULT_TIMEOUT, NO_BOUND, LinkError, TargetError, Transport, UrlError,
                        parse_qemu_url, qemu_url_flash, qemu_url_gic)

# Exit statuses (documented in the help's epilog and the README).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_LINK, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class CliError(Exception):
    pass


class UsageError(CliError):
    """The command line asks for something it cannot (exit status 2)."""


def _int(text):
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % text) from None


def _connect(args):
    return Target(args.port, timeout=args.timeout, baudrate=args.baud, elf=args.elf)


def _print_command(args, command):
    """make run shows the QEMU command line it runs (--print-command)."""
    if args.print_command:
        import shlex    # only make run asks for it: no cost to the other commands
        print(shlex.join(command), file=sys.stderr, flush=True)


# -- commands ---------------------------------------------------------------

def _flash_option(args, board, url_flash=None):
    """--flash FILE (or a URL's flash=FILE): the backing file of the board's
    flash bank, made if missing and emptied with --fresh; None: none given."""
    path = args.flash or url_flash
    if path is None:
        if args.fresh:
            raise UsageError("--fresh empties the file --flash names: give --flash FILE too")
        return None
    try:
        return boards.flash_image(board, path, args.fresh)
    except (boards.BoardError, OSError) as e:
        raise UsageError(str(e)) from None


def cmd_boot(args):
    gic = url_flash = None
    if args.board:
        board, smp = args.board, args.smp
    else:
        url = args.port if args.port.startswith("qemu") else "qemu"
        board, smp = parse_qemu_url(url)
        smp, gic, url_flash = args.smp or smp, qemu_url_gic(url), qemu_url_flash(url)
    flash = _flash_option(args, board, url_flash)
    gdb = ["-gdb", "tcp::%d" % args.gdb_port, "-S"] if args.gdb else []
    gdb += _sd_card_args(board, args.sd)        # QEMU arguments beyond the board's
    if args.env:
        return _boot_in_background(board, smp, gdb, flash)
    if args.attach:
        # The REPL on this terminal; QEMU's own -nographic console (Ctrl-A x quits).
        cmd = boards.qemu_command(board, smp, ["-nographic"] + gdb, gic=gic, flash=flash)
        _print_command(args, cmd)
        os.execvp(cmd[0], cmd)
    # SIGTERM (make debug ending) must stop QEMU too, not orphan it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Qemu(board, smp=smp, extra=gdb, gic=gic, flash=flash) as q:
        _print_command(args, q.command)
        if args.json:
            print(json.dumps({"port": q.port, "board": board, "pid": os.getpid(),
                              "upload_channel": q.upload_channel}), flush=True)
        else:
            print(q.port, flush=True)
        if q.upload_channel and not args.json:
            print("upload channel (virtio console): %s (EL2_UPLOAD_CHANNEL=%s with EL2_PORT=%s: uploads go there)"
                  % (q.upload_channel, q.upload_channel, q.port), file=sys.stderr, flush=True)
        print("QEMU is running %s%s; Ctrl-C stops it" % (
            board, " (gdbstub on :%d, stopped at the entry point)" % args.gdb_port if args.gdb else ""),
            file=sys.stderr, flush=True)
        try:
            q.proc.wait()
        except KeyboardInterrupt:
            pass
        if q.exit_status():
            raise CliError("QEMU exited with status %d: %s" % (q.exit_status(), q.last_output()))


def _sd_card_args(board, image):
    """-drive if=sd for `boot --sd IMAGE` (RPI4: the card at /sd)."""
    if image is None:
        return []
    if board != "RPI4":
        raise CliError("--sd: only the RPI4 board has an SD card slot")
    try:
        size = os.path.getsize(image)
    except OSError as e:
        raise CliError("--sd %s: %s" % (image, e.strerror)) from None
    if size == 0 or size & (size - 1):
        raise CliError("--sd %s: %d bytes; QEMU's SD card wants a power-of-two size (truncate -s 64M %s)"
                       % (image, size, image))
    return ["-drive", "if=sd,format=raw,file=%s" % image]


def _boot_in_background(board, smp, gdb, flash=None):
    """QEMU in a process of its own that outlives this command; prints shell
    assignments: EL2_PORT (the port every command then uses),
    EL2_UPLOAD_CHANNEL (where uploads send their bytes, on a board with a
    virtio console) and EL2_BOOT_PID (kill it to stop QEMU)."""
    import shlex
    r, w = os.pipe()
    pid = os.fork()         # before QEMU and its relay thread exist
    if pid == 0:
        os.close(r)
        os.setsid()         # the shell's Ctrl-C is not for it
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)   # the caller's $(...) ends when this command's stdout closes
        status = 0
        try:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            with Qemu(board, smp=smp, extra=gdb, flash=flash) as q:
                os.write(w, ("%s %s\n" % (q.port, q.upload_channel or "")).encode())
                os.close(w)
                w = None
                q.proc.wait()
        except SystemExit:
            pass
        except BaseException as e:
            if w is not None:
                os.write(w, ("error: %s\n" % e).encode())
            status = 1
        os._exit(status)
    os.close(w)
    with os.fdopen(r) as f:
        line = f.readline().strip()
    if not line or line.startswith("error: "):
        os.waitpid(pid, 0)
        raise CliError(line[len("error: "):] if line else "QEMU did not start")
    port, _, channel = line.partition(" ")
    elf = shlex.quote(str(boards.elf_path(board)))
    print("EL2_PORT=%s; EL2_ELF=%s; EL2_BOOT_PID=%d; export EL2_PORT EL2_ELF EL2_BOOT_PID"
          % (shlex.quote(port), elf, pid))
    # Where uploads send their bytes (Target.upload); a board without one
    # clears what a former boot --env left.
    print("EL2_UPLOAD_CHANNEL=%s; export EL2_UPLOAD_CHANNEL" % shlex.quote(channel))
    print("# QEMU is running %s in the background; kill $EL2_BOOT_PID stops it" % board)


def cmd_version(args):
    """The host tools' version; with a target named (-p, $EL2_PORT), the
    firmware's too, and a warning when the two differ."""
    from . import __version__
    info = {"host_tools": __version__, "firmware": None}
    if args.port_given:
        try:
            with _connect(args) as t:
                info["firmware"] = t.firmware_version()
                info["firmware"]["port"] = args.port
        except LinkError as e:
            _say("note: no firmware version: %s" % e)
    fw = info["firmware"]
    if args.json:
        print(json.dumps(info))
    else:
        print("aarch64-el2 %s (host tools)" % __version__)
        if fw:
            print("firmware %s on %s (MicroPython %s, %s)" % (
                fw["version"] or "(unknown)", fw["port"], fw["micropython"], fw["machine"]))
    if fw and fw["version"] != __version__:
        _say("warning: the firmware is %s, the host tools %s: build and load the firmware of this tree "
             "(make firmware; aarch64-el2 load)" % (fw["version"] or "older than aarch64.VERSION", __version__))


def cmd_devs(args):
    """The serial ports pyserial finds, as mpremote devs lists them."""
    from serial.tools.list_ports import comports
    ports = [{"device": p.device, "serial_number": p.serial_number,
              "vid": p.vid, "pid": p.pid, "manufacturer": p.manufacturer, "product": p.product}
             for p in sorted(comports(), key=lambda p: p.device)]
    if args.json:
        print(json.dumps(ports, indent=2))
        return
    for p in ports:
        print(p["device"], p["serial_number"] or "-", "%04x:%04x" % (p["vid"] or 0, p["pid"] or 0),
              p["manufacturer"] or "-", p["product"] or "-")


def cmd_repl(args):
    port, qemu = args.port, None
    if port == "qemu" or port.startswith("qemu:"):
        board, smp = parse_qemu_url(port)
        qemu = Qemu(board, smp=smp, gic=qemu_url_gic(port), flash=qemu_url_flash(port))
        port = qemu.port
    try:
        return subprocess.call([sys.executable, "-m", "mpremote", "connect", port, "resume", "repl"]
                               + _repl_options(args))
    finally:
        if qemu:
            qemu.stop()


def _repl_options(args):
    """mpremote repl's own options, as given."""
    opts = []
    if args.capture:
        opts += ["--capture", args.capture]
    if args.inject_code is not None:
        opts += ["--inject-code", args.inject_code]
    if args.inject_file:
        opts += ["--inject-file", args.inject_file]
    if args.escape_non_printable:
        opts.append("--escape-non-printable")
    return opts


def _stream(t, args, code, stdin=None):
    """The program's output to stdout as the target produces it; what
    arrives on `stdin` (a descriptor) meanwhile goes to the program. A
    program reading a terminal waits for its person: -t then bounds the
    target's silence only when given.

    Ctrl-C goes to the target as a terminal user's would: the program
    stops with KeyboardInterrupt, its last output and traceback are shown,
    the link stays usable, and the status is 130. A second Ctrl-C (a
    program that ignores the first) stops waiting: the transport then
    interrupts until the raw REPL answers again."""
    interrupted = []

    def on_sigint(signum, frame):
        if interrupted or not t.interrupt():
            raise KeyboardInterrupt
        interrupted.append(True)

    terminal = stdin is not None and os.isatty(stdin)
    idle = args.timeout if args.timeout_given or not terminal else NO_BOUND
    saved = None
    if terminal:
        import termios
        import tty
        saved = termios.tcgetattr(stdin)
        tty.setcbreak(stdin)    # each key at once, echoed by the target; Ctrl-C still a signal
    previous = signal.signal(signal.SIGINT, on_sigint)
    run = t.stream(code, idle, args.run_timeout, stdin=stdin)
    try:
        for text in run:
            sys.stdout.write(text)
            sys.stdout.flush()
    except TargetError as e:
        if not interrupted:
            raise
        sys.stderr.write(e.traceback if e.traceback.endswith("\n") else e.traceback + "\n")
    finally:
        signal.signal(signal.SIGINT, previous)
        run.close()     # cut short: stops the program on the target
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
    if interrupted:
        raise KeyboardInterrupt


def _stdin():
    """Standard input's descriptor, if there is one to forward: not a
    terminal this command runs in the background of (`... &`), where
    reading it or setting it up would stop the command (SIGTTIN, SIGTTOU)."""
    try:
        fd = sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError):
        return None
    if fd is not None and os.isatty(fd):
        try:
            foreground = os.tcgetpgrp(fd)
        except OSError:         # not our controlling terminal: no job control on it
            return fd
        if foreground != os.getpgrp():
            return None
    return fd


def _run_code(args, code):
    with _connect(args) as t:
        _stream(t, args, code, _stdin())


def cmd_exec(args):
    _run_code(args, args.code)


def cmd_run(args):
    try:
        with open(args.file) as f:
            code = f.read()
    except OSError as e:
        raise CliError("cannot read %s: %s" % (args.file, e.strerror)) from None
    _run_code(args, code)


def cmd_pipe(args):
    """Standard input as one script for a freshly booted target (make run with a pipe)."""
    code = sys.stdin.read()
    smp = args.smp if not boards.BOARDS[args.board].smp_fixed else None
    qemu = Qemu(args.board, smp=smp, flash=_flash_option(args, args.board))
    _print_command(args, qemu.command)
    with Target(transport=Transport.boot(qemu, args.timeout)) as t:
        _stream(t, args, code)


def cmd_status(args):
    with _connect(args) as t:
        rows = t.pcpu_status()
    for r in rows:
        # Decoded here, from the host's copy of the register table.
        r["hcr_fields"] = sysregs.format_fields("HCR_EL2", r["hcr_el2"]).split()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(pcpu_status.format_table(rows))


def _enable_disable(args, enable):
    if not args.all and args.cpu is None:
        raise UsageError("say which CPU: --cpu N or --all")
    with _connect(args) as t:
        if args.all:
            rows = t.pcpu_enable_all() if enable else t.pcpu_disable_all()
        else:
            rows = [(t.pcpu_enable if enable else t.pcpu_disable)(args.cpu)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print("CPU %d: %s, VBAR_EL2=0x%x (%s), HCR_EL2=0x%x" % (
            r["cpu_id"], "enabled" if r["enabled"] else "disabled", r["vbar_el2"], r["vectors"], r["hcr_el2"]))


def cmd_enable(args):
    _enable_disable(args, True)


def cmd_disable(args):
    _enable_disable(args, False)


def _complete_register(prefix, **kw):
    """Shell completion of a register name: the register table's names, in
    the case being typed (the command takes either)."""
    names = sorted(name for name in sysregs.REGISTERS if name.startswith(prefix.upper()))
    return [n.lower() for n in names] if prefix and prefix.islower() else names


def _regname(name):
    known = canonical_name(name)
    return known or name


def cmd_sysreg(args):
    name = _regname(args.name)
    with _connect(args) as t:
        if args.action == "write":
            t.write_sysreg(name, args.value, cpu=args.cpu)
        value = t.read_sysreg(name, cpu=args.cpu)
    if args.json:
        print(json.dumps({"name": name, "cpu": args.cpu if args.cpu is not None else 0, "value": value,
                          "fields": dict(sysregs.decode(name, value)) if name in sysregs.REGISTERS else {}}))
    else:
        print(describe(name, value))


def cmd_inspect(args):
    from .elf import VECTOR_ALIGN, Firmware
    path = args.elf or str(boards.elf_path(boards.last_built_board()))
    if not os.path.exists(path):
        raise CliError("%s not found: run 'make firmware' or name an ELF" % path)
    fw = Firmware(path)
    if args.symbol:
        try:
            addr = fw.symbol(args.symbol)
        except KeyError:
            raise CliError("no symbol %r in %s" % (args.symbol, path)) from None
        print(json.dumps({"symbol": args.symbol, "address": addr}) if args.json else "%s = 0x%x" % (args.symbol, addr))
        return
    if args.address is not None:
        try:
            name, off = fw.lookup(args.address)
        except KeyError:
            raise CliError("no symbol at or below 0x%x" % args.address) from None
        print(json.dumps({"address": args.address, "symbol": name, "offset": off}) if args.json
              else "0x%x = %s+0x%x" % (args.address, name, off))
        return
    vcpu = fw.symbol("exception_vector_base_vcpu")
    host = fw.symbol("host_exception_vectors")
    info = {
        "elf": path, "entry": fw.entry, "loadable_size": fw.loadable_size(), "segments": fw.segments,
        "exception_vector_base_vcpu": vcpu, "vcpu_vectors_aligned": vcpu % VECTOR_ALIGN == 0,
        "host_exception_vectors": host, "host_vectors_aligned": host % VECTOR_ALIGN == 0,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print("ELF          %s" % path)
        print("entry        0x%x" % fw.entry)
        for s in fw.segments:
            print("LOAD         0x%08x  file %8d  mem %9d  %s" % (s["vaddr"], s["filesz"], s["memsz"], s["flags"]))
        print("image size   %d bytes (text + data)" % fw.loadable_size())
        for label, addr in (("exception_vector_base_vcpu", vcpu), ("host_exception_vectors", host)):
            print("%-26s 0x%x  %s" % (label, addr, "2 KiB aligned" if addr % VECTOR_ALIGN == 0 else "NOT 2 KiB aligned"))
    if not (info["vcpu_vectors_aligned"] and info["host_vectors_aligned"]):
        raise CliError("a vector table is not 2 KiB aligned: VBAR_EL2 cannot hold it")


def cmd_upload(args):
    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CliError("cannot read %s: %s" % (args.file, e.strerror)) from None
    start = time.monotonic()
    with _connect(args) as t, Progress() as progress:
        r = t.upload(data, args.address, progress=progress, block=args.block,
                     compress=False if args.raw else True if args.deflate else None,
                     fast_baud=args.fast_baud, channel="uart" if args.uart else None)
    elapsed = time.monotonic() - start
    print("%d bytes to 0x%x in %.2f s (%.2f MB/s), CRC-32 checked; %d line bytes (%d of %d blocks deflated, "
          "%.2f MB/s on the line) over %s" % (len(data), args.address, elapsed, len(data) / elapsed / 1e6,
                                              r.line, r.deflated, r.blocks, r.line / r.seconds / 1e6,
                                              channel_text(r.channel))
          + (" at %d baud" % r.baud if r.channel == "uart" and args.fast_baud else ""))



def add_fast_baud(parser):
    parser.add_argument("--fast-baud", type=int, metavar="BAUD",
                        help="send at this line rate (e.g. 921600 on a real UART), switched with a handshake "
                             "and back after; the rate now if either end cannot (a warning)")


# -- parser -----------------------------------------------------------------

def build_parser():
    p = argparse.ArgumentParser(prog="aarch64-el2", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    _add_global_options(p)
    p.add_argument("--version", action="store_true",
                   help="the host tools' version and, with -p or $EL2_PORT, the firmware's on that target")
    sub = p.add_subparsers(dest="command")

    s = sub.add_parser("boot", help="start QEMU and print the port to connect to")
    s.add_argument("--board", choices=list(boards.BOARDS))
    s.add_argument("--smp", type=int)
    s.add_argument("--attach", action="store_true", help="the REPL on this terminal instead (Ctrl-A x quits)")
    s.add_argument("--gdb", action="store_true", help="gdbstub, stopped at the entry point")
    s.add_argument("--gdb-port", type=int, default=1234)
    s.add_argument("--print-command", action="store_true", help="print the QEMU command line on stderr first")
    s.add_argument("--sd", metavar="IMAGE", help="RPI4: this card image in the SD slot (mounted at /sd)")
    s.add_argument("--env", action="store_true",
                   help='keep QEMU running in the background and print EL2_PORT=... for eval "$(aarch64-el2 boot --env)"')
    s.add_argument("--flash", metavar="FILE",
                   help="the backing file of the board's flash (/flash on QEMU virt), made if missing;"
                        " default: a new, empty one for this run")
    s.add_argument("--fresh", action="store_true", help="empty the --flash file first")
    s.set_defaults(func=cmd_boot)

    s = sub.add_parser("devs", help="list the serial ports on this machine (as mpremote devs)")
    s.set_defaults(func=cmd_devs)

    s = sub.add_parser("repl", help="interactive REPL (mpremote; Ctrl-] or Ctrl-x leaves it)",
                       description="The REPL on this terminal through mpremote; Ctrl-] or Ctrl-x leaves it. "
                                   "The options are mpremote repl's.")
    s.add_argument("--capture", metavar="FILE", help="write the session's output to FILE as well")
    s.add_argument("--inject-code", metavar="CODE", help="type CODE when Ctrl-J is pressed (\\n: a new line)")
    s.add_argument("--inject-file", metavar="FILE", help="run FILE (from the host) when Ctrl-K is pressed")
    s.add_argument("--escape-non-printable", action="store_true", help="show non-printable bytes as hex")
    s.set_defaults(func=cmd_repl)

    s = sub.add_parser("exec", help="run CODE on the target, its output as it runs")
    s.add_argument("code")
    _add_run_timeout(s)
    s.set_defaults(func=cmd_exec)

    s = sub.add_parser("run", help="run FILE.py on the target, its output as it runs")
    s.add_argument("file")
    _add_run_timeout(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("pipe", help="standard input as a script for a freshly booted QEMU")
    s.add_argument("--board", choices=list(boards.BOARDS), default="QEMU_VIRT")
    s.add_argument("--smp", type=int)
    s.add_argument("--flash", metavar="FILE",
                   help="the backing file of the board's flash (/flash on QEMU virt), made if missing;"
                        " default: a new, empty one for this run")
    s.add_argument("--fresh", action="store_true", help="empty the --flash file first")
    s.add_argument("--print-command", action="store_true", help="print the QEMU command line on stderr first")
    _add_run_timeout(s)
    s.set_defaults(func=cmd_pipe)

    s = sub.add_parser("status", help="per-CPU pcpu state")
    s.set_defaults(func=cmd_status)

    for name, fn in (("enable", cmd_enable), ("disable", cmd_disable)):
        s = sub.add_parser(name, help="hardware_%s() on CPUs" % name)
        g = s.add_mutually_exclusive_group()
        g.add_argument("--cpu", type=int)
        g.add_argument("--all", action="store_true")
        s.set_defaults(func=fn)

    s = sub.add_parser("sysreg", help="read or write a system register")
    ss = s.add_subparsers(dest="action", required=True)
    r = ss.add_parser("read")
    r.add_argument("name").completer = _complete_register
    r.add_argument("--cpu", type=int)
    w = ss.add_parser("write")
    w.add_argument("name").completer = _complete_register
    w.add_argument("value", type=_int)
    w.add_argument("--cpu", type=int)
    s.set_defaults(func=cmd_sysreg)

    s = sub.add_parser("inspect", help="what the firmware ELF holds")
    s.add_argument("elf", nargs="?")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--symbol")
    g.add_argument("--address", type=_int)
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("upload", help="a file into the target's RAM over the UART or the virtio console where "
                                      "there is one (binary, CRC-32 checked)")
    s.add_argument("file")
    s.add_argument("address", type=_int, help="physical address (see aarch64.ram() on the target)")
    s.add_argument("--block", type=_int, default=UPLOAD_BLOCK, help="bytes per acknowledged block (default %(default)s)")
    s.add_argument("--raw", action="store_true", help="send the bytes as they are, unframed (default: blocks "
                                                       "with a CRC-32 each, deflated where that helps on the UART)")
    s.add_argument("--deflate", action="store_true", help="deflate blocks where that helps on the virtio console too")
    s.add_argument("--uart", action="store_true",
                   help="send over the UART even where an upload channel is known (qemu:virt, $EL2_UPLOAD_CHANNEL)")
    add_fast_baud(s)
    s.set_defaults(func=cmd_upload)

    from . import fs_commands, guest, load, sdcard
    fs_commands.add_commands(sub)
    sdcard.add_commands(sub)
    guest.add_commands(sub)
    load.add_commands(sub)
    _share_global_options(p)
    return p


def _add_global_options(p, default=None):
    """-p, -t, -b, --json, --elf on parser `p`. The main parser holds the defaults;
    each command's parser gets the same options with no default
    (argparse.SUPPRESS), so one given before the command is not reset by
    the command's parser and one given after it is taken there."""
    d = (lambda value: value) if default is None else (lambda value: default)
    p.add_argument("-p", "--port", default=d(os.environ.get("EL2_PORT", "qemu")), action=_Given,
                   help="target: serial device, auto (the one USB serial adapter), socket://host:port, "
                        "rfc2217://host:port, qemu:virt[?smp=N], qemu:raspi4b (default: $EL2_PORT, else qemu)")
    p.add_argument("-t", "--wait", dest="timeout", type=float, default=d(DEFAULT_TIMEOUT), metavar="SECONDS",
                   action=_Given, help="how long the target may take to answer (default %g); "
                                       "not a bound on a program's run time" % DEFAULT_TIMEOUT)
    if default is None:
        p.set_defaults(timeout_given=False, port_given="EL2_PORT" in os.environ)
    p.add_argument("-b", "--baud", type=int, default=d(DEFAULT_BAUD),
                   help="a serial line's speed (default %d)" % DEFAULT_BAUD)
    p.add_argument("--json", action="store_true", default=d(False),
                   help="machine-readable output, where a command reports state")
    p.add_argument("--elf", default=d(os.environ.get("EL2_ELF")), metavar="FILE",
                   help="the firmware ELF the target runs, to name ELR/FAR in fault reports as function+offset "
                        "(file:line) (default: $EL2_ELF; a qemu: target's own build)")


class _Given(argparse.Action):
    """Stores the value and notes that it was given (timeout_given, port_given)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, self.dest + "_given", True)


def _add_run_timeout(s):
    s.add_argument("--timeout", dest="run_timeout", type=float, metavar="SECONDS",
                   help="stop the program (Ctrl-C on the target) after this long; exit status 3")


def _share_global_options(parser):
    """The global options on every command's parser, however deep."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                _add_global_options(child, argparse.SUPPRESS)
                _share_global_options(child)


def _say(text):
    print(text, file=sys.stderr)


def main(argv=None):
    parser = build_parser()
    try:
        import argcomplete      # shell completion (README: eval "$(register-python-argcomplete aarch64-el2)")
    except ImportError:
        pass
    else:
        argcomplete.autocomplete(parser)    # returns at once unless the shell is completing
    args = parser.parse_args(argv)
    if args.version:
        args.func, args.command = cmd_version, "--version"
    elif args.command is None:
        parser.error("say what to do: one of the commands above (aarch64-el2 --help)")
    args.run_timeout = getattr(args, "run_timeout", None)     # exec, run and pipe have --timeout
    try:
        return args.func(args) or EXIT_OK
    except TargetError as e:
        if args.command in ("exec", "run", "pipe"):
            # The user's own code: the whole traceback, as mpremote shows it.
            sys.stderr.write(e.traceback if e.traceback.endswith("\n") else e.traceback + "\n")
        else:
            _say("error: %s" % e)
        return EXIT_ERROR
    except (UsageError, UrlError) as e:
        _say("error: %s" % e)
        return EXIT_USAGE
    except (LinkError, QemuError) as e:
        _say("error: %s" % e)
        return EXIT_LINK
    except (CliError, ValueError) as e:
        _say("error: %s" % e)
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
