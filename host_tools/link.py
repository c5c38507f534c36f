"""The UART link to a target, for host scripts and the CLI.

Built on mpremote's SerialTransport (raw REPL, raw-paste): this module only
adds what a test script needs on top: a target URL, a deadline on every
operation, recovery of a garbled line, and target exceptions as Python ones.

    with connect("qemu:virt?smp=4") as t:          # boots QEMU for the duration
        t.exec("import pcpu")
        print(t.eval("pcpu.status().rows"))
        print(hex(t.read_sysreg("VBAR_EL2", cpu=2)))

A URL is a serial device (/dev/ttyUSB0, a QEMU pty), socket://host:port,
rfc2217://host:port, or qemu:virt[?smp=N], qemu:raspi4b, or plain qemu (the
board built last).
"""
import ast
import random
import re
import subprocess
import time
from urllib.parse import parse_qs

import serial
from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from . import boards
from .qemu import Qemu, QemuError

DEFAULT_TIMEOUT = 5.0


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


class _Deadline:
    def __init__(self):
        self.at = None
        self.what = ""


class _BufferedSerial:
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


class _Transport(SerialTransport):
    """mpremote's transport on our port object, with reads that block instead
    of polling every 10 ms."""

    def __init__(self, url, deadline):
        self.in_raw_repl = False
        self.use_raw_paste = True
        self.device_name = url
        self.mounted = False
        try:
            port = serial.serial_for_url(url, baudrate=115200, timeout=0, exclusive=True)
        except (OSError, ValueError, serial.SerialException) as e:
            raise LinkError("cannot open %s: %s" % (url, e)) from None
        self.serial = _BufferedSerial(port, url, deadline)

    def read_until(self, min_num_bytes, ending, timeout=10, data_consumer=None, timeout_overall=None):
        data = b""
        while not data.endswith(ending):
            byte = self.serial.read(1)
            if data_consumer:
                data_consumer(byte)
                data = byte if len(ending) == 1 else (data + byte)[-len(ending):]
            else:
                data += byte
        return data


_EXC_RE = re.compile(r"^(\w+(?:\.\w+)*)(?::\s?(.*))?$")


def _parse_exception(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    last = lines[-1] if lines else ""
    m = _EXC_RE.match(last)
    if not m:
        return TargetError("Error", last, text)
    return TargetError(m.group(1), m.group(2) or "", text)


class Target:
    """A connected target. See the module docstring."""

    ATTEMPT = 2.0       # s for one attempt to reach a proven raw REPL (see _enter)

    def __init__(self, url="qemu", timeout=DEFAULT_TIMEOUT, soft_reset=False, qemu_extra=()):
        self.url = url
        self.timeout = timeout
        self.qemu = None
        self._deadline = _Deadline()
        port = url
        if url == "qemu" or url.startswith("qemu:"):
            board, smp = parse_qemu_url(url)
            try:
                self.qemu = Qemu(board, smp=smp, extra=qemu_extra)
            except QemuError as e:
                raise LinkError(str(e)) from None
            port = self.qemu.port
        self.port = port
        try:
            self.transport = _Transport(port, self._deadline)
            if self.qemu is not None:
                # Input sent before the firmware's UART is up would be lost.
                self._op("(waiting for the first prompt)",
                         lambda: self.transport.read_until(1, b">>> "), 10)
            # A booting QEMU gets 10 s; a port the user named, the user's timeout.
            if self.qemu is not None:
                self._op("enter raw REPL", lambda: self.transport.enter_raw_repl(soft_reset=soft_reset), 10)
            else:
                self._op("enter raw REPL", lambda: self._enter(soft_reset, 0.05))
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------

    def _op(self, what, fn, timeout=None):
        self._deadline.at = time.monotonic() + (timeout or self.timeout)
        self._deadline.what = what if len(what) < 80 else what[:77] + "..."
        try:
            return fn()
        except LinkError as e:
            raise self._explain(e) from None
        except TransportError as e:
            raise self._explain(LinkError("%s: %s (sent: %s)" % (self.port, e, self._deadline.what))) from None
        finally:
            self._deadline.at = None

    def _explain(self, err):
        if self.qemu is None:
            return err
        # The pty can close a moment before the dying QEMU can be reaped.
        try:
            self.qemu.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return err
        return LinkError("QEMU exited with status %d during '%s': %s"
                         % (self.qemu.exit_status(), self._deadline.what, self.qemu.last_output()))

    def _settle(self, quiet, longest=3.0):
        """Read and drop whatever the target sends until it has been silent for
        `quiet` seconds (or `longest` passed): input still queued on the line,
        e.g. garbage a previous user sent, is consumed and echoed by then."""
        port = self.transport.serial
        start = last = time.monotonic()
        while True:
            now = time.monotonic()
            n = port.in_waiting
            if n:
                port.read(n)
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
        op_deadline = self._deadline.at
        port = self.transport.serial
        while True:
            port.reset_output_buffer()
            port.write(b"\r\x03\x03")
            self._settle(quiet, longest)
            port.write(b"\r\x03\x03")
            try:
                self._deadline.at = min(op_deadline, time.monotonic() + self.ATTEMPT)
                self.transport.enter_raw_repl(soft_reset=False)
                nonce = random.getrandbits(48)
                port.write(b"\x03print(%d + 1)\x04" % nonce)
                self.transport.read_until(1, b"OK%d\r\n\x04\x04" % (nonce + 1))
                break
            except LinkTimeout:
                if time.monotonic() >= op_deadline:
                    raise
            finally:
                self._deadline.at = op_deadline
        if soft_reset:
            self.transport.enter_raw_repl(soft_reset=True)

    def recover(self):
        """Clear garbage or a half-finished command: interrupt, let the line go
        quiet (a flood of typed garbage still queued can take seconds to
        echo), re-enter the raw REPL and prove it answers."""
        self._op("recover (Ctrl-C, raw REPL)", lambda: self._enter(False, 0.2, 5.0), 20)

    # -- running code -----------------------------------------------------

    def exec(self, code, timeout=None):
        """Run code on the target; its output as str. A target exception is
        raised here as TargetError."""
        def go():
            out, err = self.transport.exec_raw(code)
            return out, err
        out, err = self._op(code.strip().replace("\n", "; "), go, timeout)
        if err:
            raise _parse_exception(err.decode(errors="replace"))
        return out.decode(errors="replace").replace("\r\n", "\n")   # the UART's CRLF as Python text

    def eval(self, expr, timeout=None):
        """The value of a Python literal expression evaluated on the target."""
        out = self.exec("print(repr(%s))" % expr, timeout)
        try:
            return ast.literal_eval(out.strip())
        except (ValueError, SyntaxError):
            raise LinkError("%s: cannot parse the reply to %r: %r" % (self.port, expr, out)) from None

    def call(self, function, *args, **kwargs):
        """function(*args, **kwargs) on the target, e.g. call('aarch64.read_sysreg', 'HCR_EL2', cpu=1).
        The module is imported first; arguments must be literals."""
        module = function.rsplit(".", 1)[0] if "." in function else None
        argtext = ", ".join([repr(a) for a in args] + ["%s=%r" % kv for kv in kwargs.items()])
        prefix = "import %s\n" % module if module else ""
        out = self.exec(prefix + "print(repr(%s(%s)))" % (function, argtext))
        return ast.literal_eval(out.strip())

    # -- registers and pcpu -----------------------------------------------

    def read_sysreg(self, name, cpu=None):
        return self.call("aarch64.read_sysreg", name, cpu=cpu)

    def write_sysreg(self, name, value, cpu=None):
        self.call("aarch64.write_sysreg", name, value, cpu=cpu)

    def cpu_count(self):
        return self.call("aarch64.cpu_count")

    def pcpu_status(self):
        return self.eval("__import__('pcpu').status().rows")

    def pcpu_enable(self, cpu):
        self.exec("import pcpu\npcpu.Aarch64PerCpu.new(%d).hardware_enable()" % cpu)

    def pcpu_disable(self, cpu):
        self.exec("import pcpu\npcpu.Aarch64PerCpu.new(%d).hardware_disable()" % cpu)

    def soft_reset(self):
        self._op("soft reset", lambda: self.transport.enter_raw_repl(soft_reset=True), 10)

    # -- lifetime ---------------------------------------------------------

    def close(self):
        t = getattr(self, "transport", None)
        if t is not None:
            try:
                t.serial.close()
            except Exception:
                pass
            self.transport = None
        if self.qemu is not None:
            self.qemu.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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
        if key != "smp":
            raise LinkError("unknown option %r in %r (only smp=N)" % (key, url))
        try:
            smp = int(values[-1])
        except ValueError:
            raise LinkError("smp must be a number in %r" % url) from None
    return board, smp


def connect(url="qemu", timeout=DEFAULT_TIMEOUT, **kw):
    return Target(url, timeout=timeout, **kw)
