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
        finally:
            # QEMU gone or stopped: closing our side hangs up the client at
            # once, instead of leaving it waiting on a silent line.
            os.close(self.master)

    def _relay(self):
        sock, master = self.sock.fileno(), self.master
        to_sock, to_pty = bytearray(), bytearray()
        client, hup_at = True, 0.0
        served = False          # has a client ever read or written?
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        while not self.closed:
            poller.register(sock, select.POLLIN | (select.POLLOUT if to_sock else 0))
            if not client and time.monotonic() - hup_at >= self.RECHECK:
                client = True           # look again: has somebody opened the pty?
            if client:
                # Read the client only as fast as QEMU takes it (back-pressure,
                # as a pty straight on QEMU gives): its writes then block.
                want = (select.POLLIN if len(to_sock) < self.MAX_TO_TARGET else 0) | \
                       (select.POLLOUT if to_pty else 0)
                poller.register(master, want)
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
                        try:
                            data = self.sock.recv(65536)
                        except BlockingIOError:
                            data = None
                        except OSError:
                            return
                        if data == b"":
                            return      # QEMU has gone
                        if data and (client or not served):
                            to_pty += data[-self.MAX_PENDING:]
                            del to_pty[:-self.MAX_PENDING]
                    if ev & select.POLLOUT and to_sock:
                        try:
                            del to_sock[:self.sock.send(to_sock)]
                        except BlockingIOError:
                            pass
                        except OSError:
                            return
                elif fd == master and client:
                    try:
                        if ev & select.POLLIN:
                            to_sock += os.read(master, self.MAX_TO_TARGET - len(to_sock))
                            served = True
                        elif ev & self.HUP:
                            raise OSError("no client")
                        if ev & select.POLLOUT and to_pty:
                            del to_pty[:os.write(master, to_pty)]
                            served = True
                    except BlockingIOError:
                        pass
                    except OSError:     # EIO: nobody has the pty open
                        client, hup_at = False, time.monotonic()
                        if served:
                            to_pty.clear()


class Qemu:
    """A running QEMU; `port` is the pty its UART is on.

        with Qemu("QEMU_VIRT", smp=2) as q:
            print(q.port)
    """

    def __init__(self, board="QEMU_VIRT", smp=None, extra=(), timeout=10.0):
        self.board = board
        image = boards.image_path(board)
        if not image.exists():
            raise QemuError("%s not found: run 'make firmware BOARD=%s' first" % (image, board))
        self._dir = tempfile.TemporaryDirectory(prefix="el2-qemu-")
        sock_path = os.path.join(self._dir.name, "uart")
        # QEMU waits for our connection before it starts: no output is lost.
        self.command = boards.qemu_command(board, smp, [
            "-display", "none", "-monitor", "none",
            "-chardev", "socket,id=uart,path=%s,server=on,wait=on" % sock_path,
            "-serial", "chardev:uart"] + list(extra))
        self.relay = None
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        self.output = b""
        self.relay = _PtyRelay(self._connect(sock_path, timeout))
        self.relay.start()
        self.port = self.relay.port

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
