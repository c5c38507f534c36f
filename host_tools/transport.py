"""The transport: a target's raw REPL over a UART, with a deadline on every
operation. It knows ports, QEMU, bytes and the raw REPL; what the firmware
offers (registers, pcpu) is the target API's business (target_api.py).

Built on mpremote's SerialTransport (raw REPL, raw-paste), which it extends
with what a test script needs: a target URL, a deadline on every read,
recovery of a garbled line, and target exceptions as Python ones.

    Transport.open("qemu:virt?smp=2")    # boot QEMU for as long as the transport is open
    Transport.open("/dev/ttyUSB0")       # or any port pyserial opens
    Transport.attach(Qemu(command=[...]).port, qemu=...)   # a target that is already running

A URL is a serial device (/dev/ttyUSB0, a QEMU pty), socket://host:port,
rfc2217://host:port, or qemu:virt[?smp=N][&gic=3][&flash=FILE], qemu:raspi4b, or plain
qemu (the board built last).
"""
import codecs
import math
import os
import random
import re
import select
import subprocess
import time
from urllib.parse import parse_qs

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from . import boards
from .qemu import Qemu, QemuError

DEFAULT_TIMEOUT = 5.0
DEFAULT_BAUD = 115200
BOOT_TIMEOUT = 10.0     # s for a QEMU we started to reach its first prompt
READ_BLOCK = 65536      # bytes taken from the port per system call, at most
NO_BOUND = math.inf     # stream(timeout=NO_BOUND): the target may stay silent for ever


class LinkError(Exception):
    """The link failed: the port, what was sent and what happened."""


class LinkTimeout(LinkError):
    pass


class RunTimeout(LinkTimeout):
    """A program outran the whole-run bound (stream's `overall`)."""


class UrlError(LinkError, ValueError):
    """A target URL that names nothing we can open (a usage error)."""


class TargetError(Exception):
    """The target raised an exception. `type` is its name ('ValueError'),
    `message` its text, `traceback` the whole report."""

    def __init__(self, type_name, message, traceback):
        super().__init__("%s: %s" % (type_name, message) if message else type_name)
        self.type = type_name
        self.message = message
        self.traceback = traceback


_EXC_RE = re.compile(r"^(\w+(?:\.\w+)*)(?::\s?(.*))?$")


def parse_exception(text):
    """A MicroPython traceback as a TargetError (its last line names the exception)."""
    lines = [l for l in text.strip().splitlines() if l.strip()]
    last = lines[-1] if lines else ""
    m = _EXC_RE.match(last)
    if not m:
        return TargetError("Error", last, text)
    return TargetError(m.group(1), m.group(2) or "", text)


class Deadline:
    """When the current operation must be over (None: no operation), and what
    it sent, for the error that says it was not.

    A streamed run (Transport.stream) sets `idle`: every byte received then
    moves `at` to `idle` seconds later, so only a silent target times out,
    never a busy one; `end`, if set, is the bound on the whole run."""

    def __init__(self):
        self.at = None
        self.what = ""
        self.idle = None
        self.end = None

    def set(self, what, timeout, idle=None, overall=None):
        now = time.monotonic()
        self.what = what if len(what) < 80 else what[:77] + "..."
        self.idle, self.end = idle, (now + overall if overall else None)
        self.at = now + (idle or timeout)
        if self.end is not None:
            self.at = min(self.at, self.end)

    def clear(self):
        self.at = self.idle = self.end = None

    def heard(self):
        """Bytes arrived: a streamed run's silence starts again."""
        if self.idle is not None:
            self.at = time.monotonic() + self.idle
            if self.end is not None:
                self.at = min(self.at, self.end)


class DeadlineSerial:
    """A pyserial port whose every read ends by the current operation's
    deadline. mpremote calls read/write/inWaiting on it as on pyserial.

    Reads take whatever the port holds, up to READ_BLOCK bytes, in one system
    call into a buffer that read() and read_until() serve from: a byte per
    system call (and pyserial re-configuring the port for each new timeout)
    cost 65 s of host CPU per MiB of output. The port's own timeout stays 0;
    waiting is a select() on its descriptor until the deadline."""

    def __init__(self, port, url, deadline):
        self._port = port
        self._url = url
        self._deadline = deadline
        self._buf = bytearray()
        self._tail = b""        # the last bytes received, for error messages
        self.forward = None     # a descriptor whose input goes to the port while we wait (stream's stdin)
        try:
            self._fd = port.fileno()
        except Exception:       # a URL handler without a descriptor (rfc2217://, loop://)
            self._fd = None

    def _remaining(self, n):
        d = self._deadline
        if d.at is None or d.at == NO_BOUND:
            return None
        left = d.at - time.monotonic()
        if left <= 0:
            heard = self._tail.decode(errors="replace").strip()
            last = "last received: %r" % heard[-160:] if heard else "nothing received"
            if d.end is not None and d.at >= d.end:
                raise RunTimeout("%s: the program did not finish within the run's time bound (sent: %s; %s)"
                                 % (self._url, d.what, last))
            if d.idle is not None:
                raise LinkTimeout("%s did not answer for %g s (sent: %s; %s)" % (self._url, d.idle, d.what, last))
            raise LinkTimeout("%s did not answer within the timeout (sent: %s; waiting for %d more bytes; %s)"
                              % (self._url, d.what, n, last))
        return left

    def _take(self, timeout):
        """Up to READ_BLOCK bytes the port holds now, or after waiting at most `timeout`."""
        try:
            if self._fd is None:
                self._port.timeout = timeout
                try:
                    chunk = self._port.read(1)
                finally:
                    self._port.timeout = 0
                return chunk + self._port.read(self._port.in_waiting) if chunk else chunk
            chunk = self._port.read(READ_BLOCK)
            if chunk or timeout == 0:
                return chunk
            fds = [self._fd] if self.forward is None else [self._fd, self.forward]
            ready, _, _ = select.select(fds, [], [], timeout)
            if self.forward in ready:
                self._pass_input()
            return self._port.read(READ_BLOCK)
        except (OSError, serial.SerialException) as e:
            raise LinkError("%s: %s" % (self._url, e)) from None

    def _pass_input(self):
        """What arrived on `forward` to the target, each newline as the
        \\r of a terminal's Enter (MicroPython's input() ends a line on \\r);
        the end of the input ends the forwarding."""
        data = os.read(self.forward, 1024)
        if not data:
            self.forward = None
            return
        self._port.write(data.replace(b"\n", b"\r"))
        self._deadline.heard()      # the target has something to answer now

    def _fill(self, n):
        """At least one more byte into the buffer, by the deadline."""
        while True:
            chunk = self._take(self._remaining(n))
            if chunk:
                self._buf += chunk
                self._tail = (self._tail + chunk)[-400:]
                self._deadline.heard()
                return

    def read(self, n=1):
        while len(self._buf) < n:
            self._fill(n - len(self._buf))
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_until(self, ending):
        """Everything up to and including `ending`."""
        start = 0
        while True:
            i = self._buf.find(ending, start)
            if i >= 0:
                i += len(ending)
                data = bytes(self._buf[:i])
                del self._buf[:i]
                return data
            start = max(0, len(self._buf) - len(ending) + 1)
            self._fill(len(ending))

    def read_some_until(self, ending):
        """(bytes, found): what has arrived, waiting for at least a byte,
        up to the byte `ending` (excluded, and consumed if found)."""
        if not self._buf:
            self._fill(1)
        i = self._buf.find(ending)
        if i < 0:
            data = bytes(self._buf)
            self._buf.clear()
            return data, False
        data = bytes(self._buf[:i])
        del self._buf[:i + 1]
        return data, True

    def inWaiting(self):
        if not self._buf:
            chunk = self._take(0)
            self._buf += chunk
            self._tail = (self._tail + chunk)[-400:]
        return len(self._buf)

    in_waiting = property(inWaiting)

    def write(self, data):
        try:
            return self._port.write(data)
        except (OSError, serial.SerialException) as e:
            raise LinkError("%s: %s" % (self._url, e)) from None

    @property
    def baudrate(self):
        return self._port.baudrate

    @baudrate.setter
    def baudrate(self, baud):
        """A new line rate, once what was written has left (a pty takes the
        setting and ignores it; a socket:// port has none)."""
        try:
            self._port.flush()
            self._port.baudrate = baud
        except (OSError, ValueError, serial.SerialException) as e:
            raise LinkError("%s: cannot set %d baud: %s" % (self._url, baud, e)) from None

    def reset_input_buffer(self):
        self._buf.clear()
        self._port.reset_input_buffer()

    def reset_output_buffer(self):
        """Drop what was written but not yet sent (a serial driver's queue, the
        far side of a pty); a no-op where the port cannot."""
        try:
            self._port.reset_output_buffer()
        except (OSError, serial.SerialException):
            pass

    def close(self):
        self._port.close()


class Transport(SerialTransport):
    """mpremote's transport on a DeadlineSerial, with reads that block instead
    of polling every 10 ms. `qemu` is the QEMU it stops on close, if any.
    Make one with open(), boot() or attach(); the constructor only opens the
    port."""

    ATTEMPT = 2.0       # s for one attempt to reach a proven raw REPL (see _enter)

    def __init__(self, port, timeout=DEFAULT_TIMEOUT, qemu=None, baudrate=DEFAULT_BAUD):
        self.in_raw_repl = False
        self.use_raw_paste = True
        self.device_name = self.port = port
        self.mounted = False
        self.timeout = timeout
        self.qemu = qemu
        self.deadline = Deadline()
        self.running = False    # a streamed program runs: interrupt() can reach it
        try:
            raw = serial.serial_for_url(port, baudrate=baudrate, timeout=0, exclusive=True)
        except (OSError, ValueError, serial.SerialException) as e:
            raise LinkError("cannot open %s: %s" % (port, e)) from None
        self.serial = DeadlineSerial(raw, port, self.deadline)

    # -- the ways in --------------------------------------------------------

    @classmethod
    def open(cls, url="qemu", timeout=DEFAULT_TIMEOUT, soft_reset=False, qemu_extra=(), baudrate=DEFAULT_BAUD):
        """A target URL: qemu: URLs boot the firmware in QEMU for as long as
        the transport is open; anything else is a port to attach to (at
        `baudrate`: a real serial line's speed)."""
        if url == "auto":
            url = auto_port()
        if url != "qemu" and not url.startswith("qemu:"):
            return cls.attach(url, timeout, soft_reset, baudrate=baudrate)
        board, smp = parse_qemu_url(url)
        try:
            qemu = Qemu(board, smp=smp, extra=qemu_extra, gic=qemu_url_gic(url), flash=qemu_url_flash(url))
        except QemuError as e:
            raise LinkError(str(e)) from None
        return cls.boot(qemu, timeout, soft_reset)

    @classmethod
    def boot(cls, qemu, timeout=DEFAULT_TIMEOUT, soft_reset=False):
        """The firmware just started in `qemu` (a Qemu of a board): wait for
        its first prompt (input sent before its UART is up would be lost),
        enter the raw REPL. The transport owns `qemu` from here on."""
        return cls._opened(qemu.port, timeout, qemu, lambda t: t._boot(soft_reset))

    @classmethod
    def attach(cls, port, timeout=DEFAULT_TIMEOUT, soft_reset=False, qemu=None, baudrate=DEFAULT_BAUD):
        """A target already running on `port`, in whatever state an earlier
        user left it: recover it to a proven raw REPL within `timeout`. With
        `qemu`, the QEMU behind the port: the transport stops it on close and
        names its exit in errors."""
        return cls._opened(port, timeout, qemu,
                           lambda t: t.op("enter raw REPL", lambda: t._enter(soft_reset, 0.05)), baudrate)

    @classmethod
    def _opened(cls, port, timeout, qemu, start, baudrate=DEFAULT_BAUD):
        try:
            t = cls(port, timeout, qemu, baudrate)
        except BaseException:
            if qemu is not None:
                qemu.stop()
            raise
        try:
            start(t)
        except BaseException:
            t.close()
            raise
        return t

    def _boot(self, soft_reset):
        self.op("(waiting for the first prompt)", lambda: self.read_until(1, b">>> "), BOOT_TIMEOUT)
        self.op("enter raw REPL", lambda: self.enter_raw_repl(soft_reset=soft_reset), BOOT_TIMEOUT)

    # -- deadlines and errors -----------------------------------------------

    def op(self, what, fn, timeout=None):
        """fn() with every read ending by `timeout` (default: the
        transport's); `what` names it in errors."""
        self.deadline.set(what, timeout or self.timeout)
        try:
            return fn()
        except LinkError as e:
            raise self._explain(e) from None
        except TransportError as e:
            raise self._explain(LinkError("%s: %s (sent: %s)" % (self.port, e, self.deadline.what))) from None
        finally:
            self.deadline.clear()

    def _explain(self, err):
        if self.qemu is None:
            return err
        # The pty can close a moment before the dying QEMU can be reaped.
        try:
            self.qemu.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return err
        return LinkError("QEMU exited with status %d during '%s': %s"
                         % (self.qemu.exit_status(), self.deadline.what, self.qemu.last_output()))

    def read_until(self, min_num_bytes, ending, timeout=10, data_consumer=None, timeout_overall=None):
        # mpremote's polls every 10 ms and reads a byte at a time; ours blocks
        # until the deadline and takes what the port holds.
        data = self.serial.read_until(ending)
        if data_consumer:
            data_consumer(data)
            return data[-1:]
        return data

    # -- the raw REPL ---------------------------------------------------------

    def exec(self, code, timeout=None, what=None):
        """Run code; its output as str. A target exception is raised here as
        TargetError. `what` names the code in errors (default: the code)."""
        what = what or code.strip().replace("\n", "; ")
        out, err = self.op(what, lambda: self.exec_raw(code), timeout)
        if err:
            raise parse_exception(err.decode(errors="replace"))
        return out.decode(errors="replace").replace("\r\n", "\n")   # the UART's CRLF as Python text

    def stream(self, code, idle=None, overall=None, what=None, stdin=None):
        """Run code, yielding its output (str, newlines as \\n) as the
        target produces it; a target exception is raised at the end as
        TargetError. `idle` (default: the transport's timeout) bounds the
        target's silence, not the run: a program that keeps printing runs on;
        `overall`, if given, bounds the whole run (RunTimeout); idle=NO_BOUND
        lets the target stay silent for ever (a program waiting for a person).
        `stdin`, a file descriptor: what arrives on it while the program
        runs goes to the target (input(), sys.stdin), each newline as \\r.

        A run cut short (Ctrl-C on the host, a timeout, the consumer closing
        the iterator) interrupts the program on the target and brings back
        its raw REPL, so the link stays usable."""
        what = what or code.strip().replace("\n", "; ")
        idle = idle or self.timeout
        decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        cr = False          # a chunk ended in \r: its \n may start the next
        finished = False
        try:
            try:
                self.deadline.set(what, idle, idle=idle, overall=overall)
                self.exec_raw_no_follow(code)
                self.running = True
                self.serial.forward = stdin
                while True:
                    data, found = self.serial.read_some_until(b"\x04")
                    text = decode(data, final=found)
                    if cr:
                        text = "\r" + text
                    cr = text.endswith("\r") and not found
                    if cr:
                        text = text[:-1]
                    if text:
                        yield text.replace("\r\n", "\n")
                    if found:
                        break
                self.serial.forward = None      # the program is over
                err = self.serial.read_until(b"\x04")[:-1]
                finished = True
                self.running = False
            except LinkError as e:
                raise self._explain(e) from None
            except TransportError as e:
                raise self._explain(LinkError("%s: %s (sent: %s)" % (self.port, e, self.deadline.what))) from None
        except BaseException as e:
            # The program may still run: stop it, unless the link itself is gone.
            if not finished and (not isinstance(e, LinkError) or isinstance(e, LinkTimeout)):
                self._stop_program()
            raise
        finally:
            self.running = False
            self.serial.forward = None
            self.deadline.clear()
        if err:
            raise parse_exception(err.decode(errors="replace"))

    def interrupt(self):
        """Ctrl-C to the program a stream() runs, as a terminal user types
        it: the stream goes on with what the program prints while it stops,
        then ends with its KeyboardInterrupt (TargetError). Safe from a
        signal handler or another thread. False if no program was running
        (the code was still being sent, or the run is over)."""
        if not self.running:
            return False
        self.serial.write(b"\x03")
        return True

    def _stop_program(self):
        """Ctrl-C a running program and come back to a proven raw REPL;
        best effort (a link that fails here has already failed)."""
        try:
            self.recover()
        except (LinkError, OSError):
            pass

    def soft_reset(self):
        self.op("soft reset", lambda: self.enter_raw_repl(soft_reset=True), 10)

    # -- recovery -------------------------------------------------------------

    def _settle(self, quiet, longest=3.0):
        """Read and drop whatever the target sends until it has been silent for
        `quiet` seconds (or `longest` passed): input still queued on the line,
        e.g. garbage a previous user sent, is consumed and echoed by then."""
        start = last = time.monotonic()
        while True:
            now = time.monotonic()
            n = self.serial.in_waiting
            if n:
                self.serial.read(n)
                last = now
            elif now - last >= quiet or now - start >= longest:
                return
            time.sleep(0.01)

    def _enter(self, soft_reset, quiet, longest=3.0):
        """Bring the target, whatever state garbage left it in (a half line, a
        paste mode, a raw-paste transfer, a running program), to a raw REPL
        that is proven to be listening. Each attempt drops input not yet
        sent, interrupts, waits for the line to go quiet, interrupts again,
        enters the raw REPL the mpremote way, then runs a nonce: a raw REPL
        banner alone may be an echo of the garbage itself. Attempts repeat
        until the operation's deadline."""
        op_deadline = self.deadline.at
        port = self.serial
        while True:
            port.reset_output_buffer()
            port.write(b"\r\x03\x03")
            self._settle(quiet, longest)
            port.write(b"\r\x03\x03")
            try:
                self.deadline.at = min(op_deadline, time.monotonic() + self.ATTEMPT)
                self.enter_raw_repl(soft_reset=False)
                nonce = random.getrandbits(48)
                port.write(b"\x03print(%d + 1)\x04" % nonce)
                self.read_until(1, b"OK%d\r\n\x04\x04" % (nonce + 1))
                break
            except LinkTimeout:
                if time.monotonic() >= op_deadline:
                    raise
            finally:
                self.deadline.at = op_deadline
        if soft_reset:
            self.enter_raw_repl(soft_reset=True)

    def recover(self):
        """Clear garbage or a half-finished command: interrupt, let the line go
        quiet (a flood of typed garbage still queued can take seconds to
        echo), re-enter the raw REPL and prove it answers."""
        self.op("recover (Ctrl-C, raw REPL)", lambda: self._enter(False, 0.2, 5.0), 20)

    # -- lifetime -------------------------------------------------------------

    def close(self):
        if self.serial is not None:
            try:
                self.serial.close()
            except Exception:
                pass
            self.serial = None
        if self.qemu is not None:
            self.qemu.stop()


def auto_port():
    """The one USB serial adapter on this machine (-p auto), as mpremote
    picks a board: several is a usage error, none a link failure."""
    from serial.tools.list_ports import comports
    usb = sorted(p.device for p in comports() if p.vid is not None)
    if len(usb) == 1:
        return usb[0]
    if usb:
        raise UrlError("-p auto: several USB serial adapters (%s): name one with -p" % ", ".join(usb))
    raise LinkError("-p auto: no USB serial adapter found (is the board plugged in? see aarch64-el2 devs)")


def parse_qemu_url(url):
    """'qemu:virt?smp=2' -> ('QEMU_VIRT', 2); plain 'qemu' -> the board built last."""
    rest = url[len("qemu"):].lstrip(":")
    machine, _, query = rest.partition("?")
    if machine:
        if machine not in boards.MACHINES:
            raise UrlError("unknown QEMU machine %r in %r: use %s"
                            % (machine, url, ", ".join("qemu:" + m for m in boards.MACHINES)))
        board = boards.MACHINES[machine]
    else:
        board = boards.last_built_board()
    smp = None
    for key, values in parse_qs(query).items():
        if key == "gic":
            gic = values[-1]
            if gic not in boards.BOARDS[board].gic_versions:
                raise UrlError("gic=%s in %r: %s has %s" % (gic, url, board, " or ".join(
                    "gic=" + v for v in boards.BOARDS[board].gic_versions) or "a fixed GIC"))
            continue
        if key == "flash":
            if not boards.BOARDS[board].flash:
                raise UrlError("flash= in %r: %s has no flash bank" % (url, board))
            continue
        if key != "smp":
            raise UrlError("unknown option %r in %r (only smp=N, gic=N, flash=FILE)" % (key, url))
        try:
            smp = int(values[-1])
        except ValueError:
            raise UrlError("smp must be a number in %r" % url) from None
    return board, smp


def qemu_url_flash(url):
    """'qemu:virt?flash=/tmp/f.img' -> '/tmp/f.img': the backing file of the
    board's flash bank (made if missing); None: a new, empty one for the run."""
    values = parse_qs(url.partition("?")[2]).get("flash")
    return values[-1] if values else None


def qemu_url_gic(url):
    """'qemu:virt?gic=3' -> '3'; None where the URL does not say (parse_qemu_url checks it)."""
    values = parse_qs(url.partition("?")[2]).get("gic")
    return values[-1] if values else None
