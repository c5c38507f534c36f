"""The Makefile's entry points, run as a user runs them."""
import os
import pty
import select
import subprocess
import time

import pytest

from host_tools import boards

TOP = str(boards.PROJECT_TOP)


def _make(*args, **kw):
    return subprocess.run(["make", "--no-print-directory", "-C", TOP, *args],
                          capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


def test_make_run_with_a_pipe_runs_stdin_and_exits():
    r = _make("run", input="import aarch64\nprint(1 + 1, aarch64.current_el())\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "2 2"


def test_make_run_with_a_pipe_reports_an_exception():
    r = _make("run", input="1/0\n")
    assert r.returncode != 0
    assert "ZeroDivisionError" in r.stderr


def test_make_run_on_a_terminal_gives_the_repl_and_ctrl_a_x_quits():
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("make", ["make", "--no-print-directory", "-C", TOP, "run", "SMP=2"])
    out = b""

    def read_until(marker, timeout=30):
        nonlocal out
        deadline = time.monotonic() + timeout
        while marker not in out:
            assert time.monotonic() < deadline, out[-500:]
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break

    try:
        read_until(b">>> ")
        assert b"Ctrl-A x quits QEMU" in out
        os.write(fd, b"import aarch64; print(aarch64.cpu_count() * 21)\r")
        read_until(b"42")
        os.write(fd, b"\x01x")
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.close(fd)


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_debug_stops_at_the_entry_point():
    r = _make("debug", "GDB_PORT=%d" % _free_port(), "GDB_ARGS=-batch -ex 'p/x $$pc' -ex 'info symbol $$pc'")
    assert r.returncode == 0, r.stderr
    assert "_start in section .text" in r.stdout
    entry = int(r.stdout.split("$1 = ")[1].split()[0], 16)
    assert entry == 0x40200000


def test_a_second_build_does_nothing():
    # "Nothing" is what make does, not how long it takes: a wall-time bound
    # failed on a loaded CI machine (the dependency checks alone took 5 s).
    _make("firmware")
    r = _make("firmware")
    assert r.returncode == 0
    assert "CC " not in r.stdout and "LINK" not in r.stdout and "MPY " not in r.stdout


def test_make_guests_builds_the_test_guest_once():
    r = _make("guests")
    assert r.returncode == 0, r.stderr
    for name in ("testguest.elf", "testguest.bin"):
        assert (boards.BUILD / "guests" / name).stat().st_size > 0
    again = _make("guests")
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""


def test_make_linux_assets_builds_them_once():
    r = _make("linux-assets", timeout=900)          # the first run downloads ~60 MB from Debian
    assert r.returncode == 0, r.stderr
    files = [boards.BUILD / "linux" / n for n in ("Image", "initramfs.cpio.gz")]
    stamps = [f.stat().st_mtime_ns for f in files]
    again = _make("linux-assets")
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""
    assert [f.stat().st_mtime_ns for f in files] == stamps      # nothing fetched or rewritten
