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
rfc2217://host:port, or qemu:virt[?smp=N][&gic=3], qemu:raspi4b, or plain
qemu (the board built last).
"""
import random
import re
import subprocess
import time
from urllib.parse import parse_qs

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from . import boards
from .qemu import Qemu, QemuError

DEFAULT_TIMEOUT = 5.0
BOOT_TIMEOUT = 10.0     # s for a QEMU we started to reach its first prompt


class LinkError(Exception):
    """The link failed: the port, what was sent and what happened."""


class LinkTimeout(LinkError):
    pass


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
    it sent, for the error that says it was not."""

    def __init__(self):
        self.at = None
        self.what = ""


class DeadlineSerial:
    """A pyserial port whose every read ends by the current operation's
    deadline. mpremote calls read/write/inWaiting on it as on pyserial."""

    def __init__(self, port, url, deadline):
        self._port = port
        self._url = url
        self._deadline = deadline
        self._tail = b""        # the last bytes received, for error messages

    def _remaining(self, n):
        if self._deadline.at is None:
            return None
        left = self._deadline.at - time.monotonic()
        if left <= 0:
            heard = self._tail.decode(errors="replace").strip()
            raise LinkTimeout("%s did not answer within the timeout (sent: %s; waiting for %d more bytes; %s)"
                              % (self._url, self._deadline.what, n,
                                 "last received: %r" % heard[-160:] if heard else "nothing received"))
        return left

    def read(self, n=1):
        data = b""
        while len(data) < n:
            self._port.timeout = self._remaining(n - len(data))
            try:
                chunk = self._port.read(n - len(data))
            except serial.SerialException as e:
                raise LinkError("%s: %s" % (self._url, e)) from None
            data += chunk
            if chunk:
                self._tail = (self._tail + chunk)[-400:]
        return data

    def inWaiting(self):
        try:
            return self._port.in_waiting
        except (OSError, serial.SerialException) as e:
            raise LinkError("%s: %s" % (self._url, e)) from None

    in_waiting = property(inWaiting)

    def write(self, data):
        try:
            return self._port.write(data)
        except (OSError, serial.SerialException) as e:
            raise LinkError("%s: %s" % (self._url, e)) from None

    def reset_input_buffer(self):
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

    def __init__(self, port, timeout=DEFAULT_TIMEOUT, qemu=None):
        self.in_raw_repl = False
        self.use_raw_paste = True
        self.device_name = self.port = port
        self.mounted = False
        self.timeout = timeout
        self.qemu = qemu
        self.deadline = Deadline()
        try:
            raw = serial.serial_for_url(port, baudrate=115200, timeout=0, exclusive=True)
        except (OSError, ValueError, serial.SerialException) as e:
            raise LinkError("cannot open %s: %s" % (port, e)) from None
        self.serial = DeadlineSerial(raw, port, self.deadline)

    # -- the ways in --------------------------------------------------------

    @classmethod
    def open(cls, url="qemu", timeout=DEFAULT_TIMEOUT, soft_reset=False, qemu_extra=()):
        """A target URL: qemu: URLs boot the firmware in QEMU for as long as
        the transport is open; anything else is a port to attach to."""
        if url != "qemu" and not url.startswith("qemu:"):
            return cls.attach(url, timeout, soft_reset)
        board, smp = parse_qemu_url(url)
        try:
            qemu = Qemu(board, smp=smp, extra=qemu_extra, gic=qemu_url_gic(url))
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
    def attach(cls, port, timeout=DEFAULT_TIMEOUT, soft_reset=False, qemu=None):
        """A target already running on `port`, in whatever state an earlier
        user left it: recover it to a proven raw REPL within `timeout`. With
        `qemu`, the QEMU behind the port: the transport stops it on close and
        names its exit in errors."""
        return cls._opened(port, timeout, qemu,
                           lambda t: t.op("enter raw REPL", lambda: t._enter(soft_reset, 0.05)))

    @classmethod
    def _opened(cls, port, timeout, qemu, start):
        try:
            t = cls(port, timeout, qemu)
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
        self.deadline.at = time.monotonic() + (timeout or self.timeout)
        self.deadline.what = what if len(what) < 80 else what[:77] + "..."
        try:
            return fn()
        except LinkError as e:
            raise self._explain(e) from None
        except TransportError as e:
            raise self._explain(LinkError("%s: %s (sent: %s)" % (self.port, e, self.deadline.what))) from None
        finally:
            self.deadline.at = None

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
        # mpremote's polls every 10 ms; ours blocks until the deadline.
        data = b""
        while not data.endswith(ending):
            byte = self.serial.read(1)
            if data_consumer:
                data_consumer(byte)
                data = byte if len(ending) == 1 else (data + byte)[-len(ending):]
            else:
                data += byte
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


def parse_qemu_url(url):
    """'qemu:virt?smp=2' -> ('QEMU_VIRT', 2); plain 'qemu' -> the board built last."""
    rest = url[len("qemu"):].lstrip(":")
    machine, _, query = rest.partition("?")
    if machine:
        if machine not in boards.MACHINES:
            raise LinkError("unknown QEMU machine %r in %r: use %s"
                            % (machine, url, ", ".join("qemu:" + m for m in boards.MACHINES)))
        board = boards.MACHINES[machine]
    else:
        board = boards.last_built_board()
    smp = None
    for key, values in parse_qs(query).items():
        if key == "gic":
            gic = values[-1]
            if gic not in boards.BOARDS[board].gic_versions:
                raise LinkError("gic=%s in %r: %s has %s" % (gic, url, board, " or ".join(
                    "gic=" + v for v in boards.BOARDS[board].gic_versions) or "a fixed GIC"))
            continue
        if key != "smp":
            raise LinkError("unknown option %r in %r (only smp=N, gic=N)" % (key, url))
        try:
            smp = int(values[-1])
        except ValueError:
            raise LinkError("smp must be a number in %r" % url) from None
    return board, smp


def qemu_url_gic(url):
    """'qemu:virt?gic=3' -> '3'; None where the URL does not say (parse_qemu_url checks it)."""
    values = parse_qs(url.partition("?")[2]).get("gic")
    return values[-1] if values else None
