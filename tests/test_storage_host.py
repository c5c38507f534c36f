"""The host side of /flash on QEMU virt, without QEMU: the backing file
(host_tools.boards.flash_image), QEMU's -drive for it, the flash= option of a
target URL, and the board's two descriptions of the bank agreeing."""
import re

import pytest

from host_tools import boards
from host_tools.transport import UrlError, parse_qemu_url, qemu_url_flash

SIZE = boards.BOARDS["QEMU_VIRT"].flash_size


def test_the_board_header_and_the_qemu_settings_name_the_same_bank():
    header = (boards.BOARDS_DIR / "QEMU_VIRT" / "mpconfigboard.h").read_text()
    base = int(re.search(r"#define BOARD_FLASH_BASE\s+(0x[0-9a-fA-F]+)", header).group(1), 16)
    size = int(re.search(r"#define BOARD_FLASH_SIZE\s+(0x[0-9a-fA-F]+)", header).group(1), 16)
    assert (base, size) == (0x04000000, 64 << 20) == (base, SIZE)     # virt's second pflash bank
    assert "unit=1" in boards.BOARDS["QEMU_VIRT"].flash                # unit 0 would be run as boot firmware
    assert not boards.BOARDS["RPI4"].flash


def test_a_new_backing_file_is_empty_and_exactly_the_bank_size(tmp_path):
    path = boards.flash_image("QEMU_VIRT", tmp_path / "sub" / "flash.img")
    assert path.stat().st_size == SIZE
    mark = boards.FLASH_FRESH_MARK
    assert path.read_bytes()[:4096] == mark + bytes(4096 - len(mark))
    assert path.stat().st_blocks * 512 < SIZE           # sparse: no 64 MiB written for an empty flash


def test_an_existing_backing_file_is_kept_and_fresh_empties_it(tmp_path):
    path = boards.flash_image("QEMU_VIRT", tmp_path / "flash.img")
    with open(path, "r+b") as f:
        f.write(b"files")
    assert boards.flash_image("QEMU_VIRT", path).read_bytes()[:5] == b"files"
    assert boards.flash_image("QEMU_VIRT", path, fresh=True).read_bytes()[:64] == \
        boards.FLASH_FRESH_MARK + bytes(64 - len(boards.FLASH_FRESH_MARK))


def test_the_fresh_mark_is_the_one_the_firmware_looks_for():
    import ast
    source = (boards.PROJECT_TOP / "firmware" / "_flash.py").read_text()
    marks = [ast.literal_eval(n.value) for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "FRESH_MARK"]
    assert marks == [boards.FLASH_FRESH_MARK]


def test_a_backing_file_of_another_size_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "flash.img"
    path.write_bytes(b"not a flash image")
    with pytest.raises(boards.BoardError, match="needs exactly 67108864 .*FRESH=1"):
        boards.flash_image("QEMU_VIRT", path)
    assert path.read_bytes() == b"not a flash image"


def test_qemu_gets_the_file_as_the_second_pflash_bank(tmp_path):
    cmd = boards.qemu_command("QEMU_VIRT", flash=tmp_path / "a,b.img")
    assert cmd[cmd.index("-drive") + 1] == "if=pflash,unit=1,format=raw,file=%s" % (tmp_path / "a,,b.img")
    assert "-drive" not in boards.qemu_command("QEMU_VIRT")


def test_a_board_without_flash_refuses_a_backing_file(tmp_path):
    with pytest.raises(boards.BoardError, match="RPI4 has no flash bank"):
        boards.flash_image("RPI4", tmp_path / "flash.img")
    with pytest.raises(boards.BoardError):
        boards.qemu_command("RPI4", flash=tmp_path / "flash.img")


def test_target_urls_name_the_backing_file():
    assert parse_qemu_url("qemu:virt?smp=2&flash=/tmp/f.img") == ("QEMU_VIRT", 2)
    assert qemu_url_flash("qemu:virt?smp=2&flash=/tmp/f.img") == "/tmp/f.img"
    assert qemu_url_flash("qemu:virt") is None
    with pytest.raises(UrlError, match="raspi4b.*no flash|RPI4 has no flash"):
        parse_qemu_url("qemu:raspi4b?flash=/tmp/f.img")
