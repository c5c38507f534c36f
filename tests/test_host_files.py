"""Files on the target's filesystem from the host, as mpremote users move
them: Target.put/get (mpremote's fs functions over our link), and the CLI's
put, get and fs cp|ls|cat|rm."""
import os

import pytest

from host_tools import connect
from host_tools.files import check_path

from conftest import cli

# Every byte value, then bytes no text encoding survives: a binary file.
BINARY = bytes(range(256)) * 8 + os.urandom(40000) + b"\r\n\x04\x03\x00"


@pytest.fixture(scope="module")
def pty(target_port):
    """A QEMU's pty, or the board of pytest --port."""
    return target_port


def test_put_then_get_returns_the_same_bytes(pty, tmp_path):
    src = tmp_path / "blob.bin"
    src.write_bytes(BINARY)
    with connect(pty) as t:
        assert t.put(src, "/blob.bin") == len(BINARY)
        assert ("blob.bin", 0x8000, 0, len(BINARY)) in t.listdir("/")
        assert t.get("/blob.bin", tmp_path / "back.bin") == BINARY
        assert (tmp_path / "back.bin").read_bytes() == BINARY
        # The target reads the same bytes the host sent.
        assert t.exec("print(len(open('/blob.bin','rb').read()))") == "%d\n" % len(BINARY)
        t.remove("/blob.bin")
        with pytest.raises(FileNotFoundError):
            t.get("/blob.bin")
        with pytest.raises(FileNotFoundError):
            t.put(b"x", "/no/such/dir/x")
        assert t.exec("print(6 * 7)") == "42\n"     # the link is usable after the errors


def test_cli_put_get_and_fs_cp_round_trip(pty, tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(BINARY)
    r = cli("-p", pty, "put", src, "/a.bin")
    assert r.returncode == 0, r.stderr
    r = cli("-p", pty, "fs", "cp", ":/a.bin", tmp_path / "b.bin")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b.bin").read_bytes() == BINARY
    r = cli("-p", pty, "fs", "cp", src, ":/c.bin")
    assert r.returncode == 0, r.stderr
    r = cli("-p", pty, "get", ":/c.bin", tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c.bin").read_bytes() == BINARY
    listing = cli("-p", pty, "fs", "ls", "/").stdout.split()
    assert "a.bin" in listing and "c.bin" in listing
    assert cli("-p", pty, "fs", "rm", ":/a.bin", ":/c.bin").returncode == 0
    assert "a.bin" not in cli("-p", pty, "fs", "ls", "/").stdout


def test_cli_file_errors(pty, tmp_path):
    r = cli("-p", pty, "get", "/missing.bin", tmp_path)
    assert (r.returncode, r.stderr) == (1, "error: cannot read :/missing.bin on the target: no such file\n")
    r = cli("-p", pty, "fs", "cp", "a", "b")
    assert r.returncode == 2 and "':'" in r.stderr


def test_a_path_that_would_change_the_code_is_refused():
    assert check_path("/lib/x.py") == "/lib/x.py"
    for bad in ("/a'b", "x\nimport machine", "a\\b", ""):
        with pytest.raises(ValueError):
            check_path(bad)
