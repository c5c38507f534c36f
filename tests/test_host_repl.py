"""aarch64-el2 repl on a terminal: mpremote's repl options pass through
(--capture FILE keeps a session log, --inject-code types code on Ctrl-J),
and Ctrl-] leaves it, as the README says."""
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from host_tools.qemu import Qemu

from conftest import require_image

CLI = str(Path(sys.executable).with_name("aarch64-el2"))


def read_until(fd, marker, seen, timeout=60):
    """Terminal output into `seen` (a bytearray) until `marker` shows."""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, "no %r in %r" % (marker, bytes(seen[-300:]))
        if select.select([fd], [], [], left)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:     # the terminal closed: the command ended
                assert marker in seen, "no %r in %r" % (marker, bytes(seen[-300:]))


def test_capture_and_inject_code_reach_mpremote_and_ctrl_bracket_leaves(board, tmp_path):
    require_image(board)
    q = Qemu(board)
    log = tmp_path / "session.log"
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([CLI, "-p", q.port, "repl", "--capture", log, "--inject-code", "print(6 * 7)\\n"],
                             stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        seen = bytearray()
        read_until(master, b"Use Ctrl-] or Ctrl-x to exit this shell", seen)
        os.write(master, b"\r")
        read_until(master, b">>> ", seen)
        os.write(master, b"\x0a")                   # Ctrl-J: the injected code
        read_until(master, b"42\r\n", seen)
        os.write(master, b"\x1d")                   # Ctrl-]: leave
        assert p.wait(timeout=30) == 0
    finally:
        os.close(master)
        q.stop()
    text = log.read_bytes()
    assert b"print(6 * 7)" in text and b"42" in text    # the session, as the terminal showed it
