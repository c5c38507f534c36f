"""A faster line for the UART transfers (Target.upload/load_firmware with
fast_baud, `--fast-baud`; aarch64.uart_baud on the target): the transfer
goes with the PL011's divisors set for the fast rate and they are back at
115200's afterwards; a host that never sends the sync leaves the target to
go back on its own, and the transfer still completes at 115200; a rate the
divisors cannot reach is refused with the rate they can, and the link stays
usable. QEMU's pty ignores the rate, so the divisors, read from the PL011's
registers, are what shows it: the values a real line would run at."""
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from conftest import require_image
from test_upload import free_ram  # noqa: F401 (the fixture: free RAM above the firmware)
from host_tools import TargetError, boards
from host_tools.target_api import Target

CLI = str(Path(sys.executable).with_name("aarch64-el2"))
ROOT = Path(__file__).resolve().parent.parent
FAST = 921600
SLOW = 115200
# The divisors, worked out by hand from the clocks (IBRD, FBRD): clock / (16 * baud)
# with 6 bits of fraction. The Pi's 48 MHz: 921600 -> 3 + 16/64 (0.16% off).
DIVISORS = {
    "QEMU_VIRT": {FAST: (1, 40), SLOW: (13, 1)},    # 24 MHz
    "RPI4": {FAST: (3, 16), SLOW: (26, 3)},         # 48 MHz
}
FASTEST = {"QEMU_VIRT": 1_500_000, "RPI4": 3_000_000}   # clock / 16


def board_define(board, name):
    text = (ROOT / "port" / "boards" / board / "mpconfigboard.h").read_text()
    return int(re.search(r"#define %s\s+(0x[0-9a-fA-F]+|\d+)" % name, text).group(1), 0)


def test_the_divisor_table_is_what_the_clock_gives(board):
    clock = board_define(board, "BOARD_UART_CLOCK_HZ")
    for baud, (ibrd, fbrd) in DIVISORS[board].items():
        div64 = round(clock * 4 / baud)
        assert (div64 >> 6, div64 & 63) == (ibrd, fbrd)
        assert abs(clock * 4 / div64 - baud) / baud < 0.01


def divisors(target, board):
    """IBRD and FBRD as the PL011 holds them now."""
    base = board_define(board, "BOARD_UART_BASE")
    target.exec("import machine")
    return (target.eval("machine.mem32[%d]" % (base + 0x24)), target.eval("machine.mem32[%d]" % (base + 0x28)))


def lands(target, pa, data):
    return target.eval("__import__('binascii').crc32(__import__('uctypes').bytearray_at(%d, %d))"
                       % (pa, len(data))) == zlib.crc32(data)


def test_a_fast_upload_runs_at_the_fast_divisors_and_puts_them_back(target, board, free_ram):
    data = os.urandom(150_000)
    before = len(target.call("aarch64.uart_baud_log"))
    r = target.upload(data, free_ram, fast_baud=FAST)
    assert r.baud == FAST and lands(target, free_ram, data)
    log = [tuple(row) for row in target.call("aarch64.uart_baud_log")]
    fast, slow = DIVISORS[board][FAST], DIVISORS[board][SLOW]
    assert log[before:] == [(FAST, *fast, "confirmed"), (SLOW, *slow, "set")]
    assert target.call("aarch64.uart_baud") == SLOW
    assert divisors(target, board) == slow
    assert target.exec("print(6 * 7)").strip() == "42"


def test_no_sync_from_the_host_the_target_goes_back_and_the_upload_completes(target, board, free_ram,
                                                                              monkeypatch, capsys):
    monkeypatch.setattr(Target, "_send_baud_sync", lambda self: None)
    data = os.urandom(60_000)
    before = len(target.call("aarch64.uart_baud_log"))
    r = target.upload(data, free_ram, fast_baud=FAST)
    assert r.baud == SLOW and lands(target, free_ram, data)
    warning = capsys.readouterr().err.strip()
    assert warning.count("\n") == 0 and "921600 baud did not work" in warning and "115200 baud" in warning
    log = [tuple(row) for row in target.call("aarch64.uart_baud_log")]
    assert log[before:] == [(FAST, *DIVISORS[board][FAST], "reverted")]
    assert divisors(target, board) == DIVISORS[board][SLOW]
    assert target.exec("print(6 * 7)").strip() == "42"


def test_a_rate_out_of_reach_is_refused_and_the_link_stays(target, board, free_ram):
    before = target.call("aarch64.uart_baud_log")
    for rate in (4_000_000, 20):     # above clock / 16; below what a 16-bit IBRD divides to
        with pytest.raises(TargetError) as e:
            target.upload(b"x" * 1000, free_ram, fast_baud=rate)
        assert e.value.type == "ValueError" and "%d baud is out of reach" % rate in e.value.message
    assert "gives %d baud at the nearest" % FASTEST[board] in target.exec(
        "import aarch64\ntry:\n aarch64.uart_baud(4000000)\nexcept ValueError as e:\n print(e)")
    assert target.call("aarch64.uart_baud_log") == before
    assert divisors(target, board) == DIVISORS[board][SLOW]
    assert target.exec("print(6 * 7)").strip() == "42"


def test_a_refused_upload_at_the_fast_rate_leaves_the_line_at_115200(target, board, firmware):
    with pytest.raises(TargetError) as e:
        target.upload(b"x" * 1000, firmware.symbol("__image_start"), fast_baud=FAST)
    assert "overlaps the firmware" in e.value.message
    assert [tuple(row) for row in target.call("aarch64.uart_baud_log")][-1] == (SLOW, *DIVISORS[board][SLOW], "set")
    assert divisors(target, board) == DIVISORS[board][SLOW]
    assert target.exec("print(6 * 7)").strip() == "42"


def test_a_host_that_stops_mid_transfer_gets_the_line_back_at_115200(target, board, free_ram):
    class Stop(Exception):
        pass

    def stop(sent, total):
        raise Stop()

    with pytest.raises(Stop):
        target.upload(os.urandom(40_000), free_ram, block=8192, fast_baud=FAST, progress=stop)
    assert [tuple(row) for row in target.call("aarch64.uart_baud_log")][-1] == (SLOW, *DIVISORS[board][SLOW], "set")
    assert divisors(target, board) == DIVISORS[board][SLOW]
    assert target.exec("print(6 * 7)").strip() == "42"


def test_a_fast_firmware_load_comes_back_at_the_boot_rate(machine, board):
    require_image(board)
    machine.soft_reset()
    image = boards.image_path(board)
    r = machine.load_firmware(str(image), fast_baud=FAST)
    assert r.baud == FAST and r.said.startswith("bootloader: ")
    # A new boot: no switch yet, 115200's divisors, the REPL answers.
    assert machine.call("aarch64.uart_baud_log") == []
    assert machine.call("aarch64.uart_baud") == SLOW
    assert divisors(machine, board) == DIVISORS[board][SLOW]
    assert machine.exec("print(6 * 7)").strip() == "42"


def test_a_refused_fast_firmware_load_leaves_the_old_one_at_115200(target, board):
    target.exec("marker = 7")
    with pytest.raises(TargetError) as e:
        target.load_firmware(os.urandom(100_000), fast_baud=FAST)
    assert "refused" in e.value.message
    assert [tuple(row) for row in target.call("aarch64.uart_baud_log")][-1] == (SLOW, *DIVISORS[board][SLOW], "set")
    assert divisors(target, board) == DIVISORS[board][SLOW]
    assert target.exec("print(marker * 6)").strip() == "42"


def test_cli_load_with_fast_baud(board):
    if board != "QEMU_VIRT":
        pytest.skip("one board is enough for the command line (it boots its own QEMU)")
    r = subprocess.run([CLI, "-p", "qemu:virt", "load", "--fast-baud", str(FAST)],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "line bytes at 921600 baud" in r.stdout and "baud did not work" not in r.stderr
    bad = subprocess.run([CLI, "-p", "qemu:virt", "load", "--fast-baud", "4000000"],
                         capture_output=True, text=True, timeout=180)
    assert bad.returncode == 1 and "4000000 baud is out of reach" in bad.stderr
    assert "gives 1500000 baud at the nearest" in bad.stderr
