"""The firmware's own state stays truthful: a RAM disk that lost its
filesystem is reformatted out loud. On-target code in tests/target/
(runnable by hand: mpremote run tests/target/<file>)."""
import ast
from pathlib import Path

from conftest import require_image
from qemu_pipe import PipeQemu

TARGET_FILES = Path(__file__).parent / "target"
ETIMEDOUT, EINPROGRESS = 110, 115


def run_file(target, name, timeout=None, **params):
    """Run tests/target/<name> with `params` set as globals; its printed repr, parsed."""
    head = "".join("%s = %r\n" % kv for kv in params.items())
    out = target.exec(head + (TARGET_FILES / name).read_text(), timeout=timeout)
    return ast.literal_eval(out.strip().splitlines()[-1])


# -- the filesystem at / ---------------------------------------------------------

def test_a_ram_disk_that_lost_its_filesystem_is_reformatted_and_the_console_says_so(console):
    console.send("import aarch64, os; open('keep.txt', 'w').write('x'); print(os.listdir('/'))\r")
    assert "['keep.txt']" in console.expect(">>> ")
    console.send("\x04")                                    # an ordinary soft reset: quiet, files kept
    out = console.expect(">>> ")
    assert "MPY: soft reboot" in out and "[/:" not in out
    console.send("import aarch64, os; print(os.listdir('/'))\r")
    assert "['keep.txt']" in console.expect(">>> ")
    console.send("aarch64.RamDisk().writeblocks(0, bytearray(1024))\r")     # both superblocks gone
    console.expect(">>> ")
    console.send("\x04")
    out = console.expect(">>> ")
    assert "[/: the RAM disk holds no filesystem any more" in out and "its files are lost]" in out
    console.send("import os; print(os.listdir('/'))\r")
    assert "[]" in console.expect(">>> ")


def test_a_cold_boot_formats_the_blank_ram_disk_quietly(board):
    require_image(board)
    with PipeQemu(board) as q:
        q.resume()
        text = q.expect(b">>> ")
        assert b"[/:" not in text
        q.write(b"import os, aarch64; print(os.listdir('/'), aarch64.RamDisk().blank())\r")
        assert b"[] False" in q.expect(b">>> ")          # formatted: no longer blank
