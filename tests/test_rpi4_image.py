"""What a real Raspberry Pi 4 needs of kernel8.img and its card, checked on
paper (the bytes) and in QEMU raspi4b.

Current Pi firmware loads a 64-bit kernel at 0x80000 only if it carries the
arm64 Image header or config.txt says kernel_address=0x80000 (else at
0x200000, where this firmware, linked at 0x80000, cannot run): it has both."""
import struct

import pytest
from elftools.elf.elffile import ELFFile

from conftest import require_image
from host_tools import boards, sdcard
from host_tools.elf import Firmware
from host_tools.target import guest_image
from qemu_pipe import PipeQemu

KERNEL = boards.image_path("RPI4")
HEADER = struct.Struct("<IIQQQQQQ4sI")      # code0, code1, text_offset, image_size, flags, res2-4, magic, res5
PI_RAM_BASE = 0


def header(image_bytes):
    return dict(zip(("code0", "code1", "text_offset", "image_size", "flags", "res2", "res3", "res4", "magic", "res5"),
                    HEADER.unpack(image_bytes[:HEADER.size])))


def branch_target(insn, at=0):
    """The target of an unconditional B instruction at `at`, or None."""
    if insn >> 26 != 0b000101:
        return None
    imm26 = insn & 0x3FFFFFF
    return at + ((imm26 - (1 << 26) if imm26 & (1 << 25) else imm26) << 2)


def test_kernel8_img_has_a_valid_arm64_image_header():
    require_image("RPI4")
    data = KERNEL.read_bytes()
    h = header(data)
    elf = Firmware(boards.elf_path("RPI4"))
    load = elf.symbol("__image_start")
    assert h["magic"] == b"ARM\x64" and h["res5"] == 0                  # no PE/COFF header
    assert PI_RAM_BASE + h["text_offset"] == load == 0x80000            # the Pi's RAM base + text_offset
    assert h["image_size"] == elf.symbol("__heap_end") - load >= len(data)   # NOLOAD memory included
    assert h["flags"] == 0b0010          # little-endian, 4 KiB pages, base near the start of RAM
    assert (h["res2"], h["res3"], h["res4"]) == (0, 0, 0)
    target = branch_target(h["code0"])
    assert target is not None and target >= HEADER.size                 # the first instruction jumps over it
    assert target == elf.symbol("entry") - load


def test_loaders_read_the_header_as_a_linux_image_for_0x80000():
    require_image("RPI4")
    img = guest_image.parse(KERNEL.read_bytes(), 1 << 30, ram_base=PI_RAM_BASE)   # a 1 GiB Pi
    assert img.kind == "linux" and img.entry == 0x80000
    assert img.page_size == 4096 and not img.anywhere
    assert sdcard.kernel_address(KERNEL) == 0x80000


def test_the_elf_of_every_board_carries_the_same_header_at_its_entry(board):
    require_image(board)
    with open(boards.elf_path(board), "rb") as f:
        elf = ELFFile(f)
        entry = elf.header.e_entry
        seg = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_vaddr"] == entry][0]
        h = header(seg.data())
    assert h["magic"] == b"ARM\x64" and h["text_offset"] == entry % (2 << 20)
    assert branch_target(h["code0"]) >= HEADER.size


def test_config_txt_names_the_kernel_address_and_the_gic_stub(tmp_path):
    require_image("RPI4")
    lines = [l for l in sdcard.config_txt(KERNEL).splitlines() if l and not l.startswith("#")]
    assert "kernel_address=0x80000" in lines
    assert "enable_gic=1" in lines
    assert "arm_64bit=1" in lines and "kernel=kernel8.img" in lines


def test_a_kernel_without_the_header_is_refused_for_the_card(tmp_path):
    require_image("RPI4")
    bare = tmp_path / "kernel8.img"
    data = bytearray(KERNEL.read_bytes())
    data[56:60] = bytes(4)
    bare.write_bytes(data)
    with pytest.raises(sdcard.SdCardError) as e:
        sdcard.config_txt(bare)
    assert "arm64 Image header" in str(e.value)


@pytest.mark.parametrize("how", ["image", "raw"])
def test_qemu_raspi4b_loads_it_at_0x80000_and_boots_it_both_ways(tmp_path, how):
    """'image': QEMU recognises the header and places the image by its
    text_offset, as U-Boot's booti would. 'raw': without the magic QEMU loads
    the file as a flat binary at 0x80000, as the Pi's firmware does with
    kernel_address=0x80000; the first instruction must still be code."""
    require_image("RPI4")
    image = KERNEL
    if how == "raw":
        image = tmp_path / "kernel8-raw.img"
        data = bytearray(KERNEL.read_bytes())
        data[56:60] = bytes(4)
        image.write_bytes(data)
    with PipeQemu("RPI4", image=image) as q:
        loaded = q.qmp("human-monitor-command", **{"command-line": "xp /2wx 0x80000"})
        first_words = [int(w, 16) for w in loaded.split(":")[1].split()]
        assert first_words == list(struct.unpack("<II", image.read_bytes()[:8]))    # the image at 0x80000
        q.resume()
        q.expect(b">>> ")
        q.write(b"import machine; print(hex(machine.mem32[0x80000 + 56]))\r")
        assert (b"0x644d5241" if how == "image" else b"0x0") in q.expect(b">>> ")
