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
import errno
import json
import os
import select
import socket
import stat
import struct
import sys
import time
import tty
import zlib

from elftools.common.exceptions import ELFError

from . import boards, files, symbols
from .elf import flat_image
from .transport import DEFAULT_BAUD, DEFAULT_TIMEOUT, LinkError, LinkTimeout, TargetError, Transport, parse_exception

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
# The second channel (QEMU virt: a virtio console beside the UART, see
# boards.upload_channel_args): the data bytes go there, the ACKs and the
# result still come over the UART, so the protocol is the same. Its host end
# is a unix socket QEMU listens on (or a pty): a QEMU booted here knows it,
# a running one is named with Target(upload_channel=...) or this variable
# (`aarch64-el2 boot --env` exports it). The channel moves 40-50 MB/s under
# QEMU, so blocks go framed (a CRC-32 each) but not deflated by default:
# deflating costs the host more time than it saves the channel.
UPLOAD_CHANNEL_ENV = "EL2_UPLOAD_CHANNEL"
RECEIVE_CHANNEL = {"uart": 0, "virtio": 1}      # aarch64.receive's channel argument
# A new firmware (load_firmware): machine.bootloader() reads this header
# (port/aarch64_chainload.c) and then receives as aarch64.receive does.
LOAD_MAGIC = b"EL2-LOAD"
LOAD_BOOT_TIMEOUT = 30          # s from the last block to the new firmware's prompt
# A faster line for a transfer (set_baud; the target's end is aarch64.uart_baud,
# port/aarch64_uart_baud.c): the target says ACK at the old rate and switches;
# the host switches, sends the sync until the target answers, then confirms.
BAUD_ACK = b"\x06"
BAUD_SYNC = b"UUUUEL2-SYNC"     # 'U' is 0x55, alternate bits: a receiver finds its frames again on them
BAUD_ANSWER = b"EL2-FAST"
BAUD_CONFIRM = b"EL2-CONF"
BAUD_CONFIRM_MS = 500           # how long each side waits for the other's step
BAUD_RESEND = 0.05              # s between syncs until the answer

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
# `baud`: the UART's rate during the transfer. `channel`: what carried the
# data bytes, "uart" or "virtio <path>" (the virtio console's host end).
UploadResult = collections.namedtuple("UploadResult", "payload line seconds blocks deflated baud channel")
# What Target.load_firmware did: `payload` image bytes, `line` bytes sent for
# them; `transfer` seconds until the last block was stored, `seconds` until
# the new firmware's prompt; its `banner`, and what the old one `said`;
# `channel` as UploadResult's.
LoadResult = collections.namedtuple("LoadResult", "payload line transfer seconds banner said baud channel")
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
                 baudrate=DEFAULT_BAUD, elf=None, upload_channel=None):
        self.transport = transport or Transport.open(url, timeout, soft_reset, qemu_extra, baudrate)
        self.url = url if transport is None else self.transport.port
        self.port = self.transport.port
        self.qemu = self.transport.qemu
        if elf is None and self.qemu is not None and self.qemu.board:
            elf = boards.elf_path(self.qemu.board)
        self.elf = None if elf is None else str(elf)
        self._symbols = None
        self._installed = set()     # the snippet's operations on the target (see request)
        # Where upload() sends its data bytes besides the UART (None: nowhere):
        # given, else the QEMU booted here's own, else $EL2_UPLOAD_CHANNEL for
        # a target running elsewhere (the one at $EL2_PORT, where that is set).
        if upload_channel is None:
            upload_channel = self.qemu.upload_channel if self.qemu is not None else env_upload_channel(self.port)
        self.upload_channel = upload_channel

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

    def upload(self, data, pa, progress=None, block=UPLOAD_BLOCK, idle_ms=UPLOAD_IDLE_MS, compress=None,
               fast_baud=None, channel=None):
        """Write `data` (bytes, or the path of a file) into the target's
        physical RAM at `pa`, checked with CRC-32, and clean it to the point
        of coherency. progress(sent, total) is called after each block,
        `sent` counting payload bytes. A range the target refuses or a
        corrupted block raises TargetError (ValueError) before or after the
        bytes; a target that stops answering raises LinkTimeout. Returns an
        UploadResult (payload and line bytes, seconds, blocks, the channel).

        `channel`: "virtio" sends the data bytes over the upload channel
        (self.upload_channel: QEMU virt's virtio console), "uart" over the
        console UART; the ACKs come over the UART either way. None: the
        upload channel where one is known and no `fast_baud` is asked for,
        else the UART. A channel that cannot be opened raises LinkError before
        anything starts; a target without the device (ENODEV) gets the
        upload over the UART, with a warning.

        Blocks go framed, each checked with its own CRC-32 as it is stored.
        `compress`: True deflates each block where that makes it shorter
        (incompressible blocks go as they are); None (the default) does so
        on the UART, whose rate is the limit, and not on the virtio channel,
        where deflating is slower than sending; False sends the bytes as they
        are, unframed.

        With `fast_baud` (the UART only) the transfer goes at that rate where both ends
        switch to it (see set_baud; the rate now if not, with a warning) and
        the line is back at the rate now afterwards, however it ended."""
        if isinstance(data, (str, os.PathLike)):
            with open(data, "rb") as f:
                data = f.read()
        data = memoryview(data).cast("B")
        if channel is None:
            channel = "virtio" if self.upload_channel and not fast_baud else "uart"
        if channel not in RECEIVE_CHANNEL:
            raise ValueError("upload channel %r: 'uart' or 'virtio'" % (channel,))
        if channel == "uart":
            return self._upload(data, pa, progress, block, idle_ms, compress, fast_baud, None)
        if not self.upload_channel:
            raise ValueError("no upload channel known for %s: give Target(upload_channel=PATH) or $%s"
                             % (self.port, UPLOAD_CHANNEL_ENV))
        sink = _UploadChannel(self.upload_channel, self.timeout)
        try:
            return self._upload(data, pa, progress, block, idle_ms, compress, fast_baud, sink)
        except _NoChannelDevice as e:
            self.warn("%s: %s; the upload goes over the UART" % (self.port, e))
        finally:
            sink.close()
        return self._upload(data, pa, progress, block, idle_ms, compress, fast_baud, None)

    def _upload(self, data, pa, progress, block, idle_ms, compress, fast_baud, sink):
        """upload() over the UART (`sink` None) or the upload channel `sink`."""
        total = len(data)
        framed = compress is not False
        deflate = compress if compress is not None else sink is None
        channel = "uart" if sink is None else "virtio " + sink.path
        code = "import aarch64\naarch64.receive(%d, %d, %d, %d, %d, %s, %d)\n" % (
            pa, total, zlib.crc32(data), block, idle_ms, framed, RECEIVE_CHANNEL[channel.split()[0]])
        what = "upload of %d bytes to 0x%x over the %s" % (total, pa, "UART" if sink is None else "virtio console")
        t = self.transport
        counts = {"line": 0, "blocks": 0, "deflated": 0}
        if progress is not None and hasattr(progress, "set_channel"):
            progress.set_channel(channel.split()[0])

        def transfer():
            t.exec_raw_no_follow(code)
            if sink is not None:
                self._channel_start(what)
            self._send_blocks(data, block, framed, what, progress, counts, deflate, sink, started=sink is not None)
            out, err = t.follow(None)
            if err:
                raise parse_exception(err.decode(errors="replace"))

        with self._fast_line(fast_baud if sink is None else None, what) as line:
            start = time.monotonic()
            self._op(what, transfer)
            seconds = time.monotonic() - start
        return UploadResult(total, counts["line"], seconds, counts["blocks"], counts["deflated"], line.baud,
                            channel)

    def _channel_start(self, what):
        """The receiver's first ACK when it takes its bytes from the upload
        channel; a target without the device says ENODEV instead."""
        try:
            self._upload_reply(what + " (start)")
        except TargetError as e:
            if "ENODEV" in e.message or "virtio_console" in e.message:     # the latter: a firmware from before it
                raise _NoChannelDevice("the target has no virtio console (%s)" % e.message) from None
            raise

    def _send_blocks(self, data, block, compress, what, progress, counts, deflate=None, sink=None, started=False):
        """The transfer itself, once the receiver runs: its first ACK, then
        each block (framed with `compress`, deflated where that helps with
        `deflate`, which is `compress` unless given) and the ACK that it was
        stored. The blocks go to `sink` (an _UploadChannel) or the UART.
        `started`: the first ACK has been read already."""
        t = self.transport
        total = len(data)
        deflate = compress if deflate is None else deflate

        def frame(start):
            length = min(block, total - start)
            return _upload_frame(data, start, length, deflate) if compress else data[start:start + length]

        if not started:
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
            if sink is None:
                t.serial.write(wire)
            else:
                self._channel_write(sink, wire, what, sent, total)
            # The next block is deflated while the line still carries this one's tail.
            wire = frame(sent + length) if sent + length < total else None
            sent += length
            try:
                self._upload_reply("%s (at byte %d)" % (what, sent))
            except TargetError as e:
                if sink is not None and "ETIMEDOUT" in e.message:
                    raise LinkError("%s: the upload channel %s stopped carrying bytes during %s; the target says: %s"
                                    % (self.port, sink.path, what, e.message)) from None
                raise
            if progress:
                progress(sent, total)

    def _channel_write(self, sink, wire, what, sent, total):
        """One block into the upload channel; if the channel fails (closed,
        QEMU gone), the receiver is let run out (it gives up once no byte comes
        for its idle time, and says so on the UART) and one LinkError says what happened."""
        try:
            sink.write(wire, self.timeout + len(wire) / UPLOAD_MIN_RATE)
        except OSError as e:
            said = ""
            try:
                while True:     # ACKs of blocks still stored, then the receiver's error
                    self._upload_reply(what)
            except TargetError as end:
                said = "; the target says: %s" % end.message
            raise LinkError("%s: the upload channel %s failed after %d of %d bytes (%s)%s"
                            % (self.port, sink.path, sent, total, e.strerror or e, said)) from None

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

    def load_firmware(self, image, progress=None, block=UPLOAD_BLOCK, boot_timeout=LOAD_BOOT_TIMEOUT, fast_baud=None,
                      channel=None):
        """Replace the running firmware with `image` (bytes, or the path of a
        kernel8.img, firmware.elf or other image of this board's firmware):
        machine.bootloader() on the target receives it as upload() sends
        (framed blocks, CRC-32 checked, deflated on the UART), stages it in
        free RAM, checks it and starts it in place of itself. Returns a
        LoadResult once the new firmware's REPL answers (in the raw REPL
        again, as after connect). A corrupted, cut or foreign image raises
        TargetError (or LinkError) and the old firmware keeps running.
        `channel` as for upload(): the blocks over the upload channel where
        one is known (and the firmware has aarch64.virtio_console), else over
        the UART. `fast_baud`: the image goes at that rate, as with upload();
        the new firmware starts at its boot rate (115200), which the host
        takes again after the old one's last line."""
        if isinstance(image, (str, os.PathLike)):
            image = flat_image(image)
        data = memoryview(image).cast("B")
        if channel is None:
            channel = "virtio" if self.upload_channel and not fast_baud else "uart"
        if channel not in RECEIVE_CHANNEL:
            raise ValueError("upload channel %r: 'uart' or 'virtio'" % (channel,))
        if channel == "uart":
            return self._load(data, progress, block, boot_timeout, fast_baud, None)
        if not self.upload_channel:
            raise ValueError("no upload channel known for %s: give Target(upload_channel=PATH) or $%s"
                             % (self.port, UPLOAD_CHANNEL_ENV))
        sink = _UploadChannel(self.upload_channel, self.timeout)
        try:
            return self._load(data, progress, block, boot_timeout, fast_baud, sink)
        except _NoChannelDevice as e:
            self.warn("%s: %s; the firmware goes over the UART" % (self.port, e))
        finally:
            sink.close()
        return self._load(data, progress, block, boot_timeout, fast_baud, None)

    def _load(self, data, progress, block, boot_timeout, fast_baud, sink):
        """load_firmware() over the UART (`sink` None) or the upload channel `sink`."""
        total = len(data)
        channel = "uart" if sink is None else "virtio " + sink.path
        header = struct.pack("<8sIIII", LOAD_MAGIC, total, zlib.crc32(data), block,
                             RECEIVE_CHANNEL[channel.split()[0]])
        what = "firmware load of %d bytes over the %s" % (total, "UART" if sink is None else "virtio console")
        t = self.transport
        counts = {"line": 0, "blocks": 0, "deflated": 0}
        times = {}
        if progress is not None and hasattr(progress, "set_channel"):
            progress.set_channel(channel.split()[0])
        # Over the channel, a firmware without one (or from before it) says so before waiting.
        code = "import machine\nmachine.bootloader()\n" if sink is None else (
            "import machine,aarch64\nif not aarch64.virtio_console():raise OSError('ENODEV: no virtio console')\n"
            "machine.bootloader()\n")

        def transfer():
            t.exec_raw_no_follow(code)
            if sink is None:
                self._upload_reply(what + " (waiting for the header)")
            else:
                self._channel_start(what + " (waiting for the header)")
            t.serial.write(header)
            self._send_blocks(data, block, True, what, progress, counts, sink is None, sink)
            times["sent"] = time.monotonic()
            # The old firmware checks the image and says it starts it, or raises.
            t.deadline.at = time.monotonic() + boot_timeout
            out = b""
            while not out.endswith(b"\n") or b"bootloader:" not in out:
                byte = t.serial.read(1)
                if byte == b"\x04" and b"bootloader:" not in out:
                    err = t.read_until(1, b"\x04")[:-1]
                    raise parse_exception(err.decode(errors="replace"))
                out += byte
            # The new firmware talks at its boot rate.
            line.target_restarted()
            out += t.read_until(1, b">>> ")
            return out.decode(errors="replace").replace("\r\n", "\n")

        with self._fast_line(fast_baud if sink is None else None, what) as line:
            start = time.monotonic()
            out = self._op(what, transfer)
        booted = time.monotonic()
        # The new firmware's friendly REPL: back to a proven raw REPL.
        t.in_raw_repl = False
        self._installed.clear()
        t.op("enter raw REPL (new firmware)", lambda: t.enter_raw_repl(soft_reset=False))
        said, _, banner = out.partition("\n")
        return LoadResult(total, counts["line"], times["sent"] - start, booted - start,
                          banner.rsplit("\n", 1)[0].strip(), said.strip(), line.baud, channel)

    # -- the line's rate ---------------------------------------------------

    def set_baud(self, baud, confirm_ms=BAUD_CONFIRM_MS):
        """Both ends of the line to `baud` (aarch64.uart_baud on the target):
        True once each has heard the other at it. False if the handshake
        failed: both are back at the rate before (the target on its own
        timeout), checked by the raw REPL answering there. confirm_ms 0
        switches without the handshake (back to a rate both knew before).
        A rate the target's UART cannot reach raises TargetError
        (ValueError) with the nearest it can, and nothing changes."""
        t = self.transport
        old = t.serial.baudrate
        what = "switch to %d baud" % baud

        def start():
            t.exec_raw_no_follow("import aarch64\nprint(aarch64.uart_baud(%d, %d))\n" % (baud, confirm_ms))
            reply = t.serial.read(1)
            if reply == b"\x04":   # refused before it changed anything
                err = t.read_until(1, b"\x04")[:-1]
                raise parse_exception(err.decode(errors="replace"))
            if reply != BAUD_ACK:
                raise LinkError("%s: unexpected reply %r to the %s" % (self.port, reply, what))

        self._op(what, start)
        t.serial.baudrate = baud
        if not confirm_ms:
            out = self._op(what + " (end)", lambda: t.follow(None))
            if out != (b"True\r\n", b""):
                raise LinkError("%s: unexpected end of the %s: %r" % (self.port, what, out))
            return True
        try:
            self._op(what + " (sync)", lambda: self._baud_handshake(confirm_ms), confirm_ms / 1000)
            if self._op(what + " (end)", lambda: t.follow(None)) == (b"True\r\n", b""):
                return True
        except LinkError:
            pass
        # Nothing heard at the new rate: back at the old one, after the
        # target's own timeouts (a step each, and its drain).
        t.serial.baudrate = old
        time.sleep(2 * confirm_ms / 1000 + 0.2)
        try:
            t.recover()
        except LinkError:
            # The target kept the new rate (it heard the confirm; its answer was lost): back from there.
            t.serial.baudrate = baud
            t.recover()
            self.set_baud(old, 0)
        if self.call("aarch64.uart_baud") != old:
            raise LinkError("%s: after a failed %s the target is not back at %d baud" % (self.port, what, old))
        return False

    def _baud_handshake(self, confirm_ms):
        """The host's steps at the new rate: the sync until the answer, then the confirm."""
        t = self.transport
        end = time.monotonic() + confirm_ms / 1000
        heard = b""
        while BAUD_ANSWER not in heard:
            if time.monotonic() >= end:
                raise LinkTimeout("%s: no answer at the new rate within %d ms" % (self.port, confirm_ms))
            self._send_baud_sync()
            time.sleep(BAUD_RESEND)
            n = t.serial.in_waiting
            heard = (heard + t.serial.read(n))[-64:] if n else heard
        t.serial.write(BAUD_CONFIRM)

    def _send_baud_sync(self):
        self.transport.serial.write(BAUD_SYNC)

    def _fast_line(self, baud, what):
        """`with` this around a transfer: the line at `baud` for it if both
        ends switch (else at the rate now, with a warning), and back at the
        rate now after it, however it ends."""
        return _FastLine(self, baud, what)

    def warn(self, message):
        """A one-line warning (to stderr; replace it to take them elsewhere)."""
        print("warning: " + message, file=sys.stderr)

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


class _FastLine:
    """Target._fast_line: `baud` is the rate the body runs at."""

    def __init__(self, target, baud, what):
        self.target, self.fast, self.what = target, baud, what
        self.old = self.baud = target.transport.serial.baudrate
        self.switched = False

    def __enter__(self):
        if self.fast and self.fast != self.old:
            if self.target.set_baud(self.fast):
                self.baud, self.switched = self.fast, True
            else:
                self.target.warn("%s: %d baud did not work (no answer at it); the %s goes at %d baud"
                                 % (self.target.port, self.fast, self.what, self.old))
        return self

    def target_restarted(self):
        """The target started again (a new firmware) at its boot rate: the host takes it too."""
        if self.switched:
            self.switched = False
            self.target.transport.serial.baudrate = self.old

    def __exit__(self, exc_type, exc, tb):
        if not self.switched:
            return
        self.switched = False
        t = self.target
        try:
            if exc is not None and not isinstance(exc, TargetError):
                # Cut short on the host's side: the receiver may still run (until its idle
                # timeout), with the rest of a block on the line. A proven raw REPL first.
                t.transport.recover()
            try:
                t.set_baud(self.old, 0)
            except (LinkError, TargetError):
                t.transport.recover()
                t.set_baud(self.old, 0)
        except (LinkError, TargetError) as e:
            if exc_type is None:
                raise
            t.warn("%s: could not take the line back to %d baud: %s" % (t.port, self.old, e))


class _NoChannelDevice(Exception):
    """The target has no virtio console: upload() goes over the UART instead."""


class _UploadChannel:
    """The host end of the upload channel, for one upload: a unix socket QEMU
    listens on (-chardev socket,server=on: boards.upload_channel_args) or a
    pty (-chardev pty). Opening a path that is neither, or that nobody
    serves, raises LinkError."""

    def __init__(self, path, timeout):
        self.path = str(path)
        self.sock = self.fd = None
        try:
            mode = os.stat(self.path).st_mode
            if stat.S_ISSOCK(mode):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(self.path)
            elif stat.S_ISCHR(mode):
                self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
                tty.setraw(self.fd)
            else:
                raise LinkError("upload channel %s: neither a unix socket nor a pty" % self.path)
        except OSError as e:
            self.close()
            raise LinkError("upload channel %s: cannot open it: %s (is it the upload channel of a running QEMU? "
                            "see $%s)" % (self.path, e.strerror or e, UPLOAD_CHANNEL_ENV)) from None

    def write(self, data, timeout):
        if self.sock is not None:
            self.sock.settimeout(timeout)
            self.sock.sendall(data, socket.MSG_NOSIGNAL)
            return
        view, deadline = memoryview(data), time.monotonic() + timeout
        while view:
            if not select.select([], [self.fd], [], max(0.0, deadline - time.monotonic()))[1]:
                raise TimeoutError(errno.ETIMEDOUT, "nothing taken for %.0f s" % timeout)
            try:
                view = view[os.write(self.fd, view):]
            except BlockingIOError:
                pass

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _upload_frame(data, start, length, deflate=True):
    """The framed block for data[start:start + length]: its header (length
    and flag, CRC-32 of the block) and its bytes, deflated (raw, against the
    32 KiB before it, which the target has already stored) if that is shorter
    and `deflate`."""
    raw = data[start:start + length]
    if not deflate:
        return struct.pack("<II", length, zlib.crc32(raw)) + bytes(raw)
    window = bytes(data[max(0, start - UPLOAD_WINDOW):start])
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zdict=window) if window else \
        zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    packed = c.compress(raw) + c.flush()
    if len(packed) < length:
        return struct.pack("<II", len(packed) | UPLOAD_DEFLATED, zlib.crc32(raw)) + packed
    return struct.pack("<II", length, zlib.crc32(raw)) + bytes(raw)


def channel_text(channel):
    """UploadResult/LoadResult.channel as the commands say it."""
    return "the UART" if channel == "uart" else "the virtio console (%s)" % channel.split(" ", 1)[1]


def env_upload_channel(port):
    """$EL2_UPLOAD_CHANNEL, the upload channel of the target at $EL2_PORT
    (as `aarch64-el2 boot --env` sets both), for a target at `port`: None
    if unset, or if $EL2_PORT names another port."""
    path = os.environ.get(UPLOAD_CHANNEL_ENV) or None
    named = os.environ.get("EL2_PORT")
    return path if path and (not named or named == port) else None


def connect(url="qemu", timeout=DEFAULT_TIMEOUT, **kw):
    """Target(url, ...): see Target (elf=, baudrate=, soft_reset=)."""
    return Target(url, timeout=timeout, **kw)
