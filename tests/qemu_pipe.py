"""QEMU with the firmware's UART on plain pipes (-serial stdio) and a QMP
socket, for the tests that must reach the UART before the firmware does:
the machine starts stopped (-S), so bytes written first are in the UART
before the firmware's first instruction; resume() starts it.

    with PipeQemu("QEMU_VIRT", ["-cpu", "cortex-a53"]) as q:
        q.write(b"\\r")
        q.wait_taken(0)         # in the UART, before the firmware's first instruction
        q.resume()
        q.expect(b">>> ")
"""
import array
import fcntl
import json
import os
import select
import socket
import subprocess
import tempfile
import termios
import time

from host_tools import boards


class PipeQemu:
    def __init__(self, board, extra=(), image=None):
        self._dir = tempfile.TemporaryDirectory(prefix="el2-pipe-")
        qmp_path = os.path.join(self._dir.name, "qmp")
        cmd = boards.qemu_command(board, None, ["-display", "none", "-monitor", "none", "-serial", "stdio",
                                                "-S", "-qmp", "unix:%s,server=on,wait=off" % qmp_path] + list(extra))
        if image is not None:
            cmd[cmd.index("-kernel") + 1] = str(image)
        self.command = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.output = b""
        self._qmp = self._qmp_connect(qmp_path)

    def _qmp_connect(self, path, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("QEMU's QMP socket did not appear: %s" % self.proc.stderr.read().decode())
                time.sleep(0.01)
        f = s.makefile("rw")
        f.readline()                                        # the greeting
        self._qmp_file = f
        self.qmp("qmp_capabilities")
        return s

    def qmp(self, command, **arguments):
        """One QMP command; its "return" value."""
        msg = {"execute": command, "arguments": arguments} if arguments else {"execute": command}
        self._qmp_file.write(json.dumps(msg) + "\n")
        self._qmp_file.flush()
        while True:
            reply = json.loads(self._qmp_file.readline())
            if "error" in reply:
                raise RuntimeError("QMP %s: %s" % (command, reply["error"]))
            if "return" in reply:
                return reply["return"]

    def resume(self):
        self.qmp("cont")

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def unread(self):
        """Bytes written that QEMU has not taken from its stdin yet."""
        n = array.array("i", [0])
        fcntl.ioctl(self.proc.stdin.fileno(), termios.FIONREAD, n)
        return n[0]

    def wait_taken(self, at_most_left, timeout=10.0):
        """Until QEMU has taken bytes from its stdin (into the UART) so that at
        most `at_most_left` are still waiting."""
        deadline = time.monotonic() + timeout
        while self.unread() > at_most_left:
            if time.monotonic() > deadline:
                raise AssertionError("QEMU took no input within %.0f s" % timeout)
            time.sleep(0.01)

    def expect(self, marker, timeout=10.0):
        """Read until `marker` appears; everything read up to and including it."""
        deadline = time.monotonic() + timeout
        while marker not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r within %.0f s; got %r" % (marker, timeout, self.output[-300:]))
            if select.select([self.proc.stdout], [], [], min(left, 0.1))[0]:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("QEMU exited; got %r" % self.output[-300:])
                self.output += chunk
        head, _, self.output = self.output.partition(marker)
        return head + marker

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._qmp.close()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()
        self._dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
