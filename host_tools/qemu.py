"""Boot the firmware in QEMU with its UART on a pty, for as long as needed."""
import atexit
import ctypes
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tty

from . import boards

_PTY_RE = re.compile(rb"char device redirected to (/dev/pts/\d+)")


try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl     # looked up before any fork
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """In the child, before exec: QEMU gets SIGKILL when its launcher dies,
    however it dies (a killed test run, a closed terminal), so no QEMU is
    left running on its own."""
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)       # PR_SET_PDEATHSIG


class QemuError(Exception):
    pass


class _QemuGone(Exception):
    """QEMU closed its end of the UART socket: the relay ends."""


class _ClientPresence:
    """Whether a client has the pty open. Nothing says so directly: a pty
    nobody holds shows as POLLHUP or EIO on the master, and after that we look
    again every `recheck` seconds."""

    def __init__(self, recheck):
        self.recheck = recheck
        self.present = True     # until the master says otherwise
        self.served = False     # has a client ever read or written?
        self._gone_at = 0.0

    def look_again(self):
        if not self.present and time.monotonic() - self._gone_at >= self.recheck:
            self.present = True

    def gone(self):
        self.present, self._gone_at = False, time.monotonic()

    def keeps_output(self):
        """Output is kept for a client that is there, or for the first one to
        come (the boot banner); otherwise it is dropped, as a UART with nobody
        listening drops it."""
        return self.present or not self.served


class _TargetToClient:
    """QEMU's output on its way to the pty, at most `limit` bytes of it kept
    for a client that has stopped reading."""

    def __init__(self, sock, master, presence, limit):
        self.sock, self.master, self.presence, self.limit = sock, master, presence, limit
        self.pending = bytearray()

    def receive(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            raise _QemuGone() from None
        if data == b"":
            raise _QemuGone()
        if self.presence.keeps_output():
            self.pending += data[-self.limit:]
            del self.pending[:-self.limit]

    def send(self):
        """Write to the client; OSError (EIO) when nobody has the pty open."""
        del self.pending[:os.write(self.master, self.pending)]
        self.presence.served = True


class _ClientToTarget:
    """What the client typed, on its way to QEMU. At most `limit` bytes are
    read ahead, so the client's writes block as on a pty straight on QEMU
    (back-pressure) and a Ctrl-C never waits behind a flood queued here."""

    def __init__(self, sock, master, presence, limit):
        self.sock, self.master, self.presence, self.limit = sock, master, presence, limit
        self.pending = bytearray()

    def has_room(self):
        return len(self.pending) < self.limit

    def receive(self):
        """Read from the client; OSError (EIO) when nobody has the pty open."""
        self.pending += os.read(self.master, self.limit - len(self.pending))
        self.presence.served = True

    def send(self):
        try:
            del self.pending[:self.sock.send(self.pending)]
        except BlockingIOError:
            pass
        except OSError:
            raise _QemuGone() from None


class _PtyRelay(threading.Thread):
    """QEMU's UART, reached on a unix socket, offered on a pty of our own.

    QEMU's own pty backend notices a client that reopens the pty by polling
    once a second, so every short-lived client (a CLI command, mpremote) would
    wait a second. This relay looks every 10 ms. Output from before the first
    client opens the pty is kept for it (the boot banner and first prompt);
    after a client has closed it, output is dropped until the next one, as a
    UART with nobody listening drops it. Both directions are buffered without
    blocking, so a slow side never stalls the other."""

    HUP = select.POLLHUP | select.POLLERR
    RECHECK = 0.01          # s between looks for a client while none is there
    MAX_PENDING = 1 << 20   # bytes kept for a client that has stopped reading
    MAX_TO_TARGET = 4096    # bytes read ahead from the client

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.sock.setblocking(False)
        # A small socket buffer: what the client typed waits here, not in a
        # 200 KB kernel buffer, so Ctrl-C and recovery are not queued behind it.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.MAX_TO_TARGET)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        os.close(slave)
        os.set_blocking(self.master, False)
        self._wake_r, self._wake_w = os.pipe()
        self.closed = False

    def stop(self):
        if not self.closed:
            self.closed = True
            os.write(self._wake_w, b"x")
            self.join(2)
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            self.sock.close()

    def run(self):
        try:
            self._relay()
        except _QemuGone:
            pass
        finally:
            # QEMU gone or stopped: closing our side hangs up the client at
            # once, instead of leaving it waiting on a silent line.
            os.close(self.master)

    def _relay(self):
        sock, master = self.sock.fileno(), self.master
        client = _ClientPresence(self.RECHECK)
        to_client = _TargetToClient(self.sock, master, client, self.MAX_PENDING)
        to_target = _ClientToTarget(self.sock, master, client, self.MAX_TO_TARGET)
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        while not self.closed:
            poller.register(sock, select.POLLIN | (select.POLLOUT if to_target.pending else 0))
            client.look_again()
            if client.present:
                poller.register(master, (select.POLLIN if to_target.has_room() else 0) |
                                (select.POLLOUT if to_client.pending else 0))
            else:
                try:
                    poller.unregister(master)
                except KeyError:
                    pass
            for fd, ev in poller.poll(self.RECHECK * 1000):
                if fd == self._wake_r:
                    return
                if fd == sock:
                    if ev & select.POLLIN:
                        to_client.receive()
                    if ev & select.POLLOUT and to_target.pending:
                        to_target.send()
                elif fd == master and client.present:
                    self._serve_client(ev, to_client, to_target, client)

    def _serve_client(self, ev, to_client, to_target, client):
        try:
            if ev & select.POLLIN:
                to_target.receive()
            elif ev & self.HUP:
                raise OSError("no client")
            if ev & select.POLLOUT and to_client.pending:
                to_client.send()
        except BlockingIOError:
            pass
        except OSError:     # EIO: nobody has the pty open
            client.gone()
            if client.served:
                to_client.pending.clear()


class Qemu:
    """A running QEMU; `port` is the pty its UART is on; `upload_channel`
    the unix socket of its virtio console for uploads (boards.py
    upload_channel_args), or None.

        with Qemu("QEMU_VIRT", smp=2) as q:     # a board of ours, UART relayed (_PtyRelay)
            print(q.port)
        with Qemu(command=["qemu-system-arm", ..., "-serial", "pty"]) as q:
            print(q.port)                       # any QEMU command line, UART on QEMU's own pty
    """

    def __init__(self, board="QEMU_VIRT", smp=None, extra=(), timeout=10.0, command=None, gic=None,
                 flash=None, fresh=False):
        """`flash`: the backing file of the board's flash bank (made if
        missing, emptied first with `fresh`); None gives a board that has one
        a new, empty file for this run only."""
        self.board = board if command is None else None
        self.relay = None
        self.upload_channel = None
        self.flash = None
        self.output = b""
        if command is not None:
            self._start(list(command))
            self.port = self._wait_for_pty(timeout)
            return
        image = boards.image_path(board)
        if not image.exists():
            raise QemuError("%s not found: run 'make firmware BOARD=%s' first" % (image, board))
        self._dir = tempfile.TemporaryDirectory(prefix="el2-qemu-")
        sock_path = os.path.join(self._dir.name, "uart")
        try:
            if boards.BOARDS[board].flash:
                if flash is None:
                    flash, fresh = os.path.join(self._dir.name, "flash.img"), True
                self.flash = boards.flash_image(board, flash, fresh)
            elif flash is not None:
                raise boards.BoardError("%s has no flash bank to back with %s" % (board, flash))
        except (boards.BoardError, OSError) as e:
            raise QemuError(str(e)) from None
        # QEMU waits for our connection before it starts: no output is lost.
        try:
            command = boards.qemu_command(board, smp, [
                "-display", "none", "-monitor", "none",
                "-chardev", "socket,id=uart,path=%s,server=on,wait=on" % sock_path,
                "-serial", "chardev:uart"] + boards.upload_channel_args(board, self._channel_path())
                + list(extra), gic=gic, flash=self.flash)
        except boards.BoardError as e:
            raise QemuError(str(e)) from None
        self._start(command)
        self.relay = _PtyRelay(self._connect(sock_path, timeout))
        self.relay.start()
        self.port = self.relay.port
        if boards.BOARDS[board].upload_channel:
            self.upload_channel = self._channel_path()

    def _channel_path(self):
        return os.path.join(self._dir.name, "upload")

    def _start(self, command):
        self.command = command
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        except OSError as e:
            raise QemuError("cannot run %s: %s" % (command[0], e.strerror)) from None
        atexit.register(self.stop)

    def _connect(self, path, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return s
            except OSError:
                s.close()
            if self.proc.poll() is not None:
                raise QemuError("QEMU exited with status %d before its UART was ready: %s"
                                % (self.proc.returncode, self.last_output()))
            time.sleep(0.01)
        self.stop()
        raise QemuError("QEMU's UART socket did not appear within %.0f s: %s" % (timeout, self.last_output()))

    def _wait_for_pty(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            m = _PTY_RE.search(self.output)
            if m:
                return m.group(1).decode()
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                chunk = os.read(fd, 4096)
                if chunk:
                    self.output += chunk
                    continue
            if self.proc.poll() is not None:
                raise QemuError("QEMU exited with status %d before its UART was ready: %s"
                                % (self.proc.returncode, self.last_output()))
        self.stop()
        raise QemuError("QEMU printed no pty within %.0f s: %s" % (timeout, self.last_output()))

    def last_output(self, n=400):
        self._drain()
        text = self.output.decode(errors="replace").strip()
        return text[-n:] if text else "(no output)"

    def _drain(self):
        if self.proc.stdout is None:
            return
        fd = self.proc.stdout.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            self.output += chunk

    def exit_status(self):
        """None while running, else QEMU's exit status."""
        return self.proc.poll()

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
            self.proc.stdout = None
        if getattr(self, "relay", None) is not None:
            self.relay.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
