"""The target API: what the firmware offers (registers, pcpu), called from
the host, on top of the transport (transport.py).

    with connect("qemu:virt?smp=4") as t:          # boots QEMU for the duration
        t.exec("import pcpu")
        print(t.eval("pcpu.status().rows"))
        print(hex(t.read_sysreg("VBAR_EL2", cpu=2)))

Calls are data, never Python source built from the arguments: one fixed
snippet on the target (_HELPER_CLASS) takes the operation's name and its arguments
as a JSON text, which it decodes with MicroPython's json, and prints the
result as JSON. An argument therefore cannot inject code, whatever it holds.
"""
import ast
import collections
import json
import os
import struct
import time
import zlib

from elftools.common.exceptions import ELFError

from . import boards, files, symbols
from .elf import flat_image
from .transport import DEFAULT_BAUD, DEFAULT_TIMEOUT, LinkError, TargetError, Transport, parse_exception

# The upload protocol (the target's end is aarch64.receive, port/aarch64_receive.c):
# the target says ACK when it is ready and after each block it has stored.
# Framed (compress=True): each block goes with a header, deflated where that
# makes it shorter: the line is the limit (QEMU's pty or a serial port), and
# the target inflates far faster than the line carries.
UPLOAD_ACK = b"\x06"
UPLOAD_DEFLATED = 1 << 31       # in a framed block's header: the bytes are raw deflate
UPLOAD_WINDOW = 32 * 1024       # deflate's reach back: the block compresses against the data before it
UPLOAD_BLOCK = 64 * 1024        # bytes per acknowledged block
UPLOAD_IDLE_MS = 1000           # the target gives up after this long without a byte
UPLOAD_MIN_RATE = 10_000        # bytes/s a line must at least carry (115200 baud: 11,520)
# A new firmware (load_firmware): machine.bootloader() reads this header
# (port/aarch64_chainload.c) and then receives as aarch64.receive does.
LOAD_MAGIC = b"EL2-LOAD"
LOAD_BOOT_TIMEOUT = 30          # s from the last block to the new firmware's prompt

# The fixed snippet: a class in __main__, used as a namespace (its functions
# are called through the class). request() takes a JSON text naming one of
# its operations and the arguments, and prints the result as JSON on a line
# of its own (whatever the operation printed before it is dropped).
#
# Every byte crosses the UART (87 us each at 115200 baud; about 10 us under
# QEMU) and is compiled by the target, so the snippet has no comments and
# one-space indents, and goes in pieces: a connection's first request sends
# the class with request() and that operation; a later request that needs
# another operation extends the class with it (a subclass of the same name,
# which keeps what came before). After that a call sends only
# `_host_tools.request('<JSON>')`. A soft reset empties __main__: it all
# goes again.
HELPER_NAME = "_host_tools"

# What Target.upload did: `payload` bytes stored, `line` bytes sent for them
# (headers and deflated blocks), `deflated` of `blocks` blocks went deflated.
UploadResult = collections.namedtuple("UploadResult", "payload line seconds blocks deflated")
# What Target.load_firmware did: `payload` image bytes, `line` bytes sent for
# them; `transfer` seconds until the last block was stored, `seconds` until
# the new firmware's prompt; its `banner`, and what the old one `said`.
LoadResult = collections.namedtuple("LoadResult", "payload line transfer seconds banner said")
_HELPER_CLASS = """class _host_tools:
 def request(text, json=__import__('json')):
  op, args = json.loads(text)
  print('\\n' + json.dumps(getattr(_host_tools, op)(*args)))
"""
_HELPER_EXTEND = "class _host_tools(_host_tools):\n"
_OPERATIONS = {
    # name is "module.attr..." (the module imported, not bound in __main__)
    # or a name in __main__ or builtins. JSON has no tuple: a list in `pos`
    # arrives as a tuple, which is what a register encoding is (a change to
    # it could not reach the host anyway).
    "call": """ def call(name, pos, kw):
  path, g = name.split('.'), globals()
  fn = __import__(path[0]) if path[1:] else g[name] if name in g else getattr(__import__('builtins'), name, None)
  if fn is None:
   raise NameError("name '%s' isn't defined" % name)
  for attr in path[1:]:
   fn = getattr(fn, attr)
  return fn(*[tuple(v) if type(v) is list else v for v in pos], **kw)
""",
    # hardware_enable/disable on the CPUs (None: every online CPU), then
    # their status rows.
    "pcpu_switch": """ def pcpu_switch(cpus, enable):
  import aarch64, pcpu, pcpu_status
  cpus = range(aarch64.cpu_count()) if cpus is None else cpus
  for cpu in cpus:
   p = pcpu.Aarch64PerCpu.new(cpu)
   p.hardware_enable() if enable else p.hardware_disable()
  return [pcpu_status.cpu_row(cpu) for cpu in cpus]
""",
    "pcpu_rows": """ def pcpu_rows():
  import pcpu
  return pcpu.status().rows
""",
}


def _helper_code(installed, op):
    """The snippet's pieces a target that has `installed` needs for `op`."""
    if op in installed:
        return ""
    return (_HELPER_EXTEND if installed else _HELPER_CLASS) + _OPERATIONS[op]


class Target:
    """A connected target: `transport` carries the calls (see transport.py);
    `port` is its port, `qemu` the QEMU it booted, if any.

    Target(url) opens a target URL; Target(transport=Transport.attach(...))
    uses a transport opened another way (a running port, any QEMU command).

    `elf`, the firmware ELF the target runs (known without it for a QEMU
    booted from a board's build): a target exception's ELR/FAR values are
    then named as code, `ELR_EL2=0x... <function+0xoff (file:line)>`, and
    locate() names any address."""

    def __init__(self, url="qemu", timeout=DEFAULT_TIMEOUT, soft_reset=False, qemu_extra=(), transport=None,
                 baudrate=DEFAULT_BAUD, elf=None):
        self.transport = transport or Transport.open(url, timeout, soft_reset, qemu_extra, baudrate)
        self.url = url if transport is None else self.transport.port
        self.port = self.transport.port
        self.qemu = self.transport.qemu
        if elf is None and self.qemu is not None and self.qemu.board:
            elf = boards.elf_path(self.qemu.board)
        self.elf = None if elf is None else str(elf)
        self._symbols = None
        self._installed = set()     # the snippet's operations on the target (see request)

    # -- naming code ------------------------------------------------------

    @property
    def symbols(self):
        """The firmware ELF's symbols.Symbols, or None (no ELF known, or not readable)."""
        if self._symbols is None and self.elf is not None:
            try:
                self._symbols = symbols.for_elf(self.elf)
            except (OSError, ValueError, ELFError):
                self.elf = None
        return self._symbols

    def locate(self, address):
        """symbols.Location of `address` in the firmware (str():
        'function+0xoff (file:line)'), or None."""
        return self.symbols.locate(address) if self.symbols else None

    def _named(self, e):
        """TargetError `e` with its ELR/FAR values named as code, when the ELF is known."""
        s = self.symbols
        if s is not None and not getattr(e, "named", False):
            e.traceback, e.message = s.annotate(e.traceback), s.annotate(e.message)
            e.args = tuple(s.annotate(a) if isinstance(a, str) else a for a in e.args)
            e.named = True
        return e

    def _named_stream(self, run):
        try:
            yield from run
        except TargetError as e:
            raise self._named(e)

    @property
    def timeout(self):
        return self.transport.timeout

    def _op(self, what, fn, timeout=None):
        return self.transport.op(what, fn, timeout)

    # -- running code -----------------------------------------------------

    def exec(self, code, timeout=None, on_output=None, overall=None):
        """Run code on the target; its output as str. A target exception is
        raised here as TargetError.

        With on_output, a function, the output goes to it as the target
        produces it (str pieces, not necessarily whole lines) and exec
        returns None; `timeout` then bounds the target's silence, not the
        run, and `overall` the whole run (see stream)."""
        if on_output is None:
            try:
                return self.transport.exec(code, timeout)
            except TargetError as e:
                raise self._named(e)
        for text in self.stream(code, timeout, overall):
            on_output(text)
        return None

    def stream(self, code, timeout=None, overall=None, stdin=None):
        """Run code on the target, yielding its output (str pieces, as they
        arrive) while it runs:

            for text in t.stream("for i in range(10): print(i); time.sleep(1)"):
                print(text, end="")

        `timeout` (default: the target's) bounds how long the target may stay
        silent (LinkTimeout), not the run: a program that prints runs for as
        long as it needs. `overall` bounds the whole run (RunTimeout). A
        target exception is raised at the end as TargetError. Leaving the
        loop early (break, an exception, Ctrl-C) interrupts the program on
        the target and leaves the link usable. `stdin`, a file descriptor:
        what arrives on it while the program runs goes to the target's
        stdin (input()), each newline as the \\r of a terminal's Enter."""
        return self._named_stream(self.transport.stream(code, timeout, overall, stdin=stdin))

    def interrupt(self):
        """Ctrl-C to the program stream() runs (from a signal handler or
        another thread): see Transport.interrupt."""
        return self.transport.interrupt()

    def eval(self, expr, timeout=None):
        """The value of a Python literal expression evaluated on the target."""
        out = self.exec("print(repr(%s))" % expr, timeout)
        try:
            return ast.literal_eval(out.strip())
        except (ValueError, SyntaxError):
            raise LinkError("%s: cannot parse the reply to %r: %r" % (self.port, expr, out)) from None

    def request(self, op, *args, timeout=None):
        """The target's answer to one request: the snippet's operation `op`
        applied to `args`, both sent as JSON, the result decoded from JSON."""
        try:
            data = json.dumps([op, args])
        except (TypeError, ValueError) as e:
            raise TypeError("cannot send %r to the target: %s" % (args, e)) from None
        # The JSON text as a string literal: ASCII only (json.dumps escapes the
        # rest), which repr() quotes as MicroPython reads it.
        line = "%s.request(%r)\n" % (HELPER_NAME, data)
        try:
            out = self._run(op, line, timeout)
        except TargetError as e:
            if not (e.type == "NameError" and HELPER_NAME in e.message):
                raise
            # The target lost the snippet (a reset we did not ask for): send it again.
            self._installed.clear()
            out = self._run(op, line, timeout)
        try:
            return json.loads(out.splitlines()[-1])
        except (ValueError, IndexError):
            raise LinkError("%s: cannot parse the reply to %s: %r" % (self.port, data[:80], out)) from None

    def _run(self, op, line, timeout):
        """`line` on the target, after the pieces of the snippet it lacks for `op`."""
        try:
            out = self.transport.exec(_helper_code(self._installed, op) + line, timeout, line.strip())
        except TargetError as e:
            self._installed.add(op)     # the pieces ran; the request raised
            raise self._named(e)
        self._installed.add(op)
        return out

    def call(self, function, *args, **kwargs):
        """function(*args, **kwargs) on the target, e.g.
        call('aarch64.read_sysreg', 'HCR_EL2', cpu=1). `function` is
        'module.name...' (the module imported) or a global or builtin name; arguments
        and the result travel as JSON (numbers, strings, True/False/None,
        lists, dicts with str keys): a list positional argument arrives as a
        tuple, a tuple result comes back as a list."""
        return self.request("call", function, args, kwargs)

    # -- uploads ----------------------------------------------------------

    def upload(self, data, pa, progress=None, block=UPLOAD_BLOCK, idle_ms=UPLOAD_IDLE_MS, compress=True):
        """Write `data` (bytes, or the path of a file) into the target's
        physical RAM at `pa` over the console UART, checked with CRC-32, and
        clean it to the point of coherency. With `compress` each block is
        deflated where that makes it shorter (incompressible blocks go as
        they are) and checked with its own CRC-32 as it is stored; without,
        the bytes go as they are. progress(sent, total) is called after each
        block, `sent` counting payload bytes. A range the target refuses or a
        corrupted block raises TargetError (ValueError) before or after the
        bytes; a target that stops answering raises LinkTimeout. Returns an
        UploadResult (payload and line bytes, seconds, blocks)."""
        if isinstance(data, (str, os.PathLike)):
            with open(data, "rb") as f:
                data = f.read()
        data = memoryview(data).cast("B")
        total = len(data)
        code = "import aarch64\naarch64.receive(%d, %d, %d, %d, %d%s)\n" % (
            pa, total, zlib.crc32(data), block, idle_ms, ", True" if compress else "")
        what = "upload of %d bytes to 0x%x" % (total, pa)
        t = self.transport
        counts = {"line": 0, "blocks": 0, "deflated": 0}

        def transfer():
            t.exec_raw_no_follow(code)
            self._send_blocks(data, block, compress, what, progress, counts)
            out, err = t.follow(None)
            if err:
                raise parse_exception(err.decode(errors="replace"))

        start = time.monotonic()
        self._op(what, transfer)
        return UploadResult(total, counts["line"], time.monotonic() - start, counts["blocks"], counts["deflated"])

    def _send_blocks(self, data, block, compress, what, progress, counts):
        """The transfer itself, once the receiver runs: its first ACK, then
        each block (framed with `compress`) and the ACK that it was stored."""
        t = self.transport
        total = len(data)

        def frame(start):
            length = min(block, total - start)
            return _upload_frame(data, start, length) if compress else data[start:start + length]

        self._upload_reply(what + " (start)")
        sent = 0
        wire = frame(0)
        while sent < total:
            length = min(block, total - sent)
            counts["line"] += len(wire)
            counts["blocks"] += 1
            counts["deflated"] += bool(compress and struct.unpack_from("<I", wire)[0] & UPLOAD_DEFLATED)
            # Each block has its own deadline: the whole transfer may take minutes.
            t.deadline.at = time.monotonic() + self.timeout + len(wire) / UPLOAD_MIN_RATE
            t.serial.write(wire)
            # The next block is deflated while the line still carries this one's tail.
            wire = frame(sent + length) if sent + length < total else None
            sent += length
            self._upload_reply("%s (at byte %d)" % (what, sent))
            if progress:
                progress(sent, total)

    # -- files (the filesystem at /, through mpremote's fs functions) -------

    def put(self, source, dest=None, progress=None, chunk=files.CHUNK):
        """Write a file on the target's filesystem: `source` is bytes or a
        host path, `dest` the target path (default: the host file's name in
        the target's current directory). progress(written, total) after each
        chunk. Each exchange has the target's timeout, not the transfer.
        Returns the number of bytes written."""
        if isinstance(source, (str, os.PathLike)):
            dest = dest or os.path.basename(os.fspath(source))
            with open(source, "rb") as f:
                source = f.read()
        if dest is None:
            raise ValueError("put(bytes) needs a target path")
        data = bytes(source)
        files.run(self.transport, "put %s" % files.check_path(dest),
                  lambda fs: fs.fs_writefile(dest, data, chunk, progress), self.timeout)
        return len(data)

    def get(self, source, dest=None, progress=None, chunk=files.CHUNK):
        """A file of the target's filesystem, as bytes; also written to the
        host path `dest` if given. A missing file raises FileNotFoundError."""
        data = bytes(files.run(self.transport, "get %s" % files.check_path(source),
                               lambda fs: fs.fs_readfile(source, chunk, progress), self.timeout))
        if dest is not None:
            with open(dest, "wb") as f:
                f.write(data)
        return data

    def listdir(self, path=""):
        """(name, mode, inode, size) of each entry of a target directory."""
        return [tuple(e) for e in files.run(self.transport, "ls %s" % (path and files.check_path(path)),
                                            lambda fs: fs.fs_listdir(path), self.timeout)]

    def remove(self, path):
        """Delete a file on the target (FileNotFoundError if there is none)."""
        files.run(self.transport, "rm %s" % files.check_path(path), lambda fs: fs.fs_rmfile(path), self.timeout)

    # -- a new firmware -----------------------------------------------------

    def load_firmware(self, image, progress=None, block=UPLOAD_BLOCK, boot_timeout=LOAD_BOOT_TIMEOUT):
        """Replace the running firmware with `image` (bytes, or the path of a
        kernel8.img, firmware.elf or other image of this board's firmware):
        machine.bootloader() on the target receives it as upload() sends
        (deflated blocks, CRC-32 checked), stages it in free RAM, checks it
        and starts it in place of itself. Returns a LoadResult once the new
        firmware's REPL answers (in the raw REPL again, as after connect).
        A corrupted, cut or foreign image raises TargetError (or LinkError)
        and the old firmware keeps running."""
        if isinstance(image, (str, os.PathLike)):
            image = flat_image(image)
        data = memoryview(image).cast("B")
        total = len(data)
        header = struct.pack("<8sIIII", LOAD_MAGIC, total, zlib.crc32(data), block, 0)
        what = "firmware load of %d bytes" % total
        t = self.transport
        counts = {"line": 0, "blocks": 0, "deflated": 0}
        times = {}

        def transfer():
            t.exec_raw_no_follow("import machine\nmachine.bootloader()\n")
            self._upload_reply(what + " (waiting for the header)")
            t.serial.write(header)
            self._send_blocks(data, block, True, what, progress, counts)
            times["sent"] = time.monotonic()
            # The old firmware checks the image and says it starts it, or raises.
            t.deadline.at = time.monotonic() + boot_timeout
            out = b""
            while not out.endswith(b">>> "):
                byte = t.serial.read(1)
                if byte == b"\x04" and b"bootloader:" not in out:
                    err = t.read_until(1, b"\x04")[:-1]
                    raise parse_exception(err.decode(errors="replace"))
                out += byte
            return out.decode(errors="replace").replace("\r\n", "\n")

        start = time.monotonic()
        out = self._op(what, transfer)
        booted = time.monotonic()
        # The new firmware's friendly REPL: back to a proven raw REPL.
        t.in_raw_repl = False
        self._installed.clear()
        t.op("enter raw REPL (new firmware)", lambda: t.enter_raw_repl(soft_reset=False))
        said, _, banner = out.partition("\n")
        return LoadResult(total, counts["line"], times["sent"] - start, booted - start,
                          banner.rsplit("\n", 1)[0].strip(), said.strip())

    def _upload_reply(self, where):
        """One ACK from the receiver; its exception if it ended instead."""
        t = self.transport
        reply = t.serial.read(1)
        if reply == UPLOAD_ACK:
            return
        if reply == b"\x04":    # the end of its output: the error follows
            err = t.read_until(1, b"\x04")[:-1]
            raise parse_exception(err.decode(errors="replace")) if err else LinkError(
                "%s: the receiver ended without an error during %s" % (self.port, where))
        raise LinkError("%s: unexpected reply %r from the receiver during %s" % (self.port, reply, where))

    def firmware_version(self):
        """{'version': aarch64.VERSION (None on a firmware without it),
        'micropython': MicroPython's version, 'machine': the build's machine}."""
        version, mpy, machine = self.eval(
            "(getattr(__import__('aarch64'), 'VERSION', None), '%d.%d.%d' % __import__('sys').implementation"
            ".version[:3], __import__('sys').implementation._machine)")
        return {"version": version, "micropython": mpy, "machine": machine}

    # -- registers and pcpu -----------------------------------------------

    def read_sysreg(self, name, cpu=None):
        return self.call("aarch64.read_sysreg", name, cpu=cpu)

    def write_sysreg(self, name, value, cpu=None):
        self.call("aarch64.write_sysreg", name, value, cpu=cpu)

    def cpu_count(self):
        return self.call("aarch64.cpu_count")

    def pcpu_status(self):
        """pcpu.status().rows: one dict per CPU."""
        return self.request("pcpu_rows")

    def pcpu_enable(self, cpu):
        """hardware_enable() on CPU `cpu`; that CPU's status row afterwards."""
        return self.request("pcpu_switch", [cpu], True)[0]

    def pcpu_disable(self, cpu):
        """hardware_disable() on CPU `cpu`; that CPU's status row afterwards."""
        return self.request("pcpu_switch", [cpu], False)[0]

    def pcpu_enable_all(self):
        """hardware_enable() on every online CPU; their status rows."""
        return self.request("pcpu_switch", None, True)

    def pcpu_disable_all(self):
        """hardware_disable() on every online CPU; their status rows."""
        return self.request("pcpu_switch", None, False)

    def soft_reset(self):
        self._installed.clear()     # __main__ starts empty
        self.transport.soft_reset()

    def recover(self):
        """Clear garbage or a half-finished command (see Transport.recover)."""
        self.transport.recover()

    # -- lifetime ---------------------------------------------------------

    def close(self):
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _upload_frame(data, start, length):
    """The framed block for data[start:start + length]: its header (length
    and flag, CRC-32 of the block) and its bytes, deflated (raw, against the
    32 KiB before it, which the target has already stored) if that is shorter."""
    raw = data[start:start + length]
    window = bytes(data[max(0, start - UPLOAD_WINDOW):start])
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=window) if window else \
        zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    packed = c.compress(raw) + c.flush()
    if len(packed) < length:
        return struct.pack("<II", len(packed) | UPLOAD_DEFLATED, zlib.crc32(raw)) + packed
    return struct.pack("<II", length, zlib.crc32(raw)) + bytes(raw)


def connect(url="qemu", timeout=DEFAULT_TIMEOUT, **kw):
    """Target(url, ...): see Target (elf=, baudrate=, soft_reset=)."""
    return Target(url, timeout=timeout, **kw)
