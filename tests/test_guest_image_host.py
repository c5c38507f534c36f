"""firmware/guest_image.py in CPython: Linux Image, ELF and flat binaries,
built here byte by byte, plus the firmware's own ELF."""
import io
import os
import struct

import pytest
from elftools.elf.elffile import ELFFile

from host_tools import boards
from host_tools.target import guest_image

RAM_BASE, RAM = 0x4000_0000, 512 << 20
MiB = 1 << 20


def linux_image(text_offset=0, image_size=24 * MiB, flags=0xA, body=4096):
    """A little-endian arm64 Image: the 64-byte header, then `body` bytes."""
    header = struct.pack("<IIQQQQQQ4sI", 0x91005A4D, 0x14000000, text_offset, image_size, flags,
                         0, 0, 0, b"ARM\x64", 0x40)
    return header + bytes(range(256)) * (body // 256)


def elf(segments, entry, machine=183, e_type=2, ei_class=2, ei_data=1, phentsize=56):
    """An ELF64 with PT_LOAD segments [(vaddr, paddr, data, memsz)] and a PT_NOTE."""
    phoff = 64
    phnum = len(segments) + 1
    offset = phoff + phnum * phentsize
    phdrs, payload = [], b""
    for vaddr, paddr, data, memsz in segments:
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 7, offset + len(payload), vaddr, paddr, len(data), memsz, 16)
                     + bytes(phentsize - 56))
        payload += data
    phdrs.append(struct.pack("<IIQQQQQQ", 4, 4, 0, 0, 0, 0, 0, 4) + bytes(phentsize - 56))
    ident = b"\x7fELF" + bytes([ei_class, ei_data, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, entry, phoff, 0, 0, 64,
                                 phentsize, phnum, 64, 0, 0)
    return header + b"".join(phdrs) + payload


class CountingFile(io.BytesIO):
    """A file that counts the bytes read from it."""
    bytes_read = 0

    def read(self, n=-1):
        data = super().read(n)
        self.bytes_read += len(data)
        return data

    def readinto(self, b):
        n = super().readinto(b)
        self.bytes_read += n
        return n


def load(source, img, chunk=4096):
    """RAM (up to the image's end) after copying it through guest_image.chunks."""
    ram = bytearray(img.end() - RAM_BASE)
    for address, data in guest_image.chunks(source, img, chunk):
        ram[address - RAM_BASE:address - RAM_BASE + len(data)] = data
    return ram


# -- Linux Image ----------------------------------------------------------------

def test_a_modern_image_goes_at_the_start_of_ram():
    data = linux_image()
    img = guest_image.parse(data, RAM)
    assert img.kind == "linux" and img.entry == RAM_BASE
    assert img.segments == [(RAM_BASE, 0, len(data), 24 * MiB)]
    assert (img.text_offset, img.image_size, img.page_size, img.anywhere) == (0, 24 * MiB, 4096, True)
    assert img.end() == RAM_BASE + 24 * MiB


def test_text_offset_and_base_are_honoured():
    data = linux_image(text_offset=0x8_0000, flags=3 << 1)     # 64 KiB pages, base low in RAM
    img = guest_image.parse(data, RAM, load_address=RAM_BASE + 64 * MiB)
    assert img.entry == RAM_BASE + 64 * MiB + 0x8_0000
    assert img.segments == [(img.entry, 0, len(data), 24 * MiB)]
    assert img.page_size == 65536 and img.anywhere is False


def test_ram_not_2mib_aligned_rounds_the_base_up():
    img = guest_image.parse(linux_image(), RAM, ram_base=0x4010_0000)
    assert img.entry == 0x4020_0000


def test_a_pre_3_17_image_uses_0x80000():
    data = linux_image(text_offset=0x1234, image_size=0, flags=0x1)
    img = guest_image.parse(data, RAM)
    assert img.entry == RAM_BASE + 0x8_0000 and img.segments[0][3] == len(data)


def test_an_image_larger_than_its_image_size_is_copied_whole():
    data = linux_image(image_size=1024, body=8192)
    assert guest_image.parse(data, RAM).segments == [(RAM_BASE, 0, len(data), len(data))]


BAD_IMAGES = [
    (linux_image(flags=0xB), {}, "big-endian Linux Image"),
    (linux_image(image_size=RAM + 4096), {}, "lies outside RAM"),
    (linux_image(), {"load_address": RAM_BASE + 0x1000}, "2 MiB aligned"),
    (linux_image(), {"load_address": RAM_BASE - 2 * MiB}, "lies outside RAM"),
    (linux_image()[:56], {"kind": "linux"}, "not a linux image: it looks like a flat binary"),
    (linux_image()[:60], {}, "64-byte header; the file has 60 bytes"),
    (b"\x1f\x8b\x08\x00" + bytes(100), {}, "gzip-compressed"),
    (b"MZ\x00\x00zimg" + bytes(100), {}, "EFI zboot"),
    (b"", {}, "empty"),
    (linux_image(), {"kind": "elf"}, "not a elf image: it looks like a Linux arm64 Image"),
    (linux_image(), {"kind": "bzImage"}, "kind must be one of"),
    (linux_image(), {"ram_base": -1}, "ram_base must be an int"),
]


@pytest.mark.parametrize("data, kwargs, message", BAD_IMAGES, ids=[c[-1] for c in BAD_IMAGES])
def test_bad_images(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        guest_image.parse(data, RAM, **kwargs)


def test_a_big_image_is_described_from_its_header_only():
    f = CountingFile(linux_image(image_size=40 * MiB, body=33 * MiB))
    img = guest_image.parse(f, RAM)
    assert f.bytes_read == 64
    assert img.segments == [(RAM_BASE, 0, 33 * MiB + 64, 40 * MiB)]


def test_chunks_copy_an_image_from_a_file_and_from_bytes():
    data = linux_image(text_offset=0x8_0000, body=64 * 1024 + 512)
    img = guest_image.parse(data, RAM)
    ram = load(io.BytesIO(data), img, chunk=4096)
    assert ram[0x8_0000:0x8_0000 + len(data)] == data
    assert ram == load(data, img, chunk=5000)
    f = CountingFile(data)
    pieces = list(guest_image.chunks(f, img, 4096))
    assert len(pieces) == -(-len(data) // 4096) and f.bytes_read == len(data)


def test_chunks_notice_a_file_that_changed():
    img = guest_image.parse(linux_image(), RAM)
    with pytest.raises(ValueError, match="described with"):
        list(guest_image.chunks(linux_image()[:-100], img))


# -- ELF -------------------------------------------------------------------------

def test_elf_segments_at_their_physical_addresses_and_the_entry_translated():
    code, data = b"\x1f\x20\x03\xd5" * 64, b"D" * 100
    image = elf([(0xFFFF_0000_0008_0000, 0x4008_0000, code, 0x1000),
                 (0xFFFF_0000_0010_0000, 0x4010_0000, data, 0x2000)], entry=0xFFFF_0000_0008_0010)
    img = guest_image.parse(image, RAM)
    assert img.kind == "elf" and img.entry == 0x4008_0010
    off = 64 + 3 * 56
    assert img.segments == [(0x4008_0000, off, len(code), 0x1000), (0x4010_0000, off + len(code), 100, 0x2000)]
    ram = load(image, img)
    assert ram[0x8_0000:0x8_0000 + len(code)] == code and ram[0x10_0000:0x10_0000 + 100] == data


def test_elf_with_big_program_headers():
    image = elf([(0x4000_0000, 0x4000_0000, b"x" * 8, 8)], entry=0x4000_0000, phentsize=64)
    assert guest_image.parse(image, RAM).segments == [(0x4000_0000, 64 + 2 * 64, 8, 8)]


BAD_ELFS = [
    (elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000, machine=40), r"machine 40, not AArch64 \(183\)"),
    (elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000, ei_class=1), "32-bit ELF"),
    (elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000, ei_data=2), "big-endian ELF"),
    (elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000, e_type=3), "position-independent"),
    (elf([(0x2000_0000, 0x2000_0000, b"x", 4)], 0x2000_0000), "lies outside RAM"),
    (elf([(0x5FFF_FF00, 0x5FFF_FF00, b"x", 0x200)], 0x5FFF_FF00), "lies outside RAM"),
    (elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x5000_0000), "entry point 0x50000000 is in no loadable"),
    (elf([(0x4000_0000, 0x4000_0000, b"xxxx", 2)], 0x4000_0000), "file size 0x4 exceeds memory size 0x2"),
    (elf([(0x4000_0000, 0x4000_0000, b"x", 0x100), (0x4000_0080, 0x4000_0080, b"y", 4)], 0x4000_0000),
     "overlap"),
    (elf([(0x4000_0000, 0x4000_0000, b"x" * 64, 64)], 0x4000_0000)[:-10], "truncated ELF: segment 0"),
    (elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000)[:100], "truncated ELF: program headers"),
    (elf([], 0x4000_0000), "no loadable segment"),
]


@pytest.mark.parametrize("image, message", BAD_ELFS, ids=[c[-1] for c in BAD_ELFS])
def test_bad_elfs(image, message):
    with pytest.raises(ValueError, match=message):
        guest_image.parse(image, RAM)


def test_an_elf_takes_no_load_address():
    image = elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000)
    with pytest.raises(ValueError, match="no load_address"):
        guest_image.parse(image, RAM, load_address=RAM_BASE)


def test_the_firmware_elf_as_pyelftools_reads_it():
    path = boards.elf_path("QEMU_VIRT")
    if not path.exists():
        pytest.fail("%s is missing: run 'make firmware BOARD=QEMU_VIRT' (make test does this)" % path)
    with open(path, "rb") as f:
        img = guest_image.parse(f, RAM)
        theirs = ELFFile(f)
        loads = [s for s in theirs.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_memsz"]]
        assert img.segments == [(s["p_paddr"], s["p_offset"], s["p_filesz"], s["p_memsz"]) for s in loads]
        assert img.entry == theirs.header.e_entry
        assert img.file_size == os.path.getsize(path)


# -- flat ------------------------------------------------------------------------

def test_a_flat_binary_goes_where_qemu_puts_one():
    img = guest_image.parse(b"\x00\x00\x80\xd2" * 10, RAM)
    assert img.kind == "flat" and img.entry == RAM_BASE + 0x8_0000
    assert img.segments == [(RAM_BASE + 0x8_0000, 0, 40, 40)]


def test_a_flat_binary_at_a_given_address_and_an_elf_loaded_flat():
    image = elf([(0x4000_0000, 0x4000_0000, b"x", 4)], 0x4000_0000)
    img = guest_image.parse(image, RAM, kind="flat", load_address=RAM_BASE + 0x100_0000)
    assert img.entry == RAM_BASE + 0x100_0000 and img.segments == [(img.entry, 0, len(image), len(image))]


@pytest.mark.parametrize("kwargs, message", [
    ({"load_address": RAM_BASE + RAM - 8}, "lies outside RAM"),
    ({"load_address": 0x1000}, "lies outside RAM"),
    ({"load_address": "0x40000000"}, "load_address must be an int"),
])
def test_bad_flat_placements(kwargs, message):
    with pytest.raises(ValueError, match=message):
        guest_image.parse(b"x" * 16, RAM, **kwargs)


class Unseekable:
    """A pipe-like file: reads, cannot seek."""

    def read(self, n=-1):
        return b""


@pytest.mark.parametrize("source, message", [(12345, "bytes, a buffer or a file"), (Unseekable(), "seekable")])
def test_bad_sources(source, message):
    with pytest.raises(ValueError, match=message):
        guest_image.parse(source, RAM)
