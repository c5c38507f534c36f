"""Boot the firmware in QEMU with its UART on a pty, for as long as needed."""
import atexit
import ctypes
import os
import re
import select
import signal
import subprocess
import time

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
        self.command = boards.qemu_command(board, smp, ["-display", "none", "-monitor", "none",
                                                        "-serial", "pty"] + list(extra))
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        self.output = b""
        self.port = self._wait_for_pty(timeout)

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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
