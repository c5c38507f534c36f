"""The binary upload (Target.upload on the host, aarch64.receive on the
target): bytes land in RAM as sent, deflated blocks inflate to them, a
corrupted or cut transfer is refused with a clear error and the REPL answers
afterwards, and the firmware's own memory can never be the destination."""
import os
import random
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from host_tools import TargetError
from host_tools.target_api import UPLOAD_ACK, UPLOAD_DEFLATED

CLI = str(Path(sys.executable).with_name("aarch64-el2"))
SZ_2M = 2 << 20


@pytest.fixture(scope="module")
def free_ram(machine, firmware):
    """A 2 MiB-aligned physical address in mapped RAM, clear of the firmware,
    with at least 8 MiB after it."""
    heap_end = firmware.symbol("__heap_end")
    for base, size in machine.call("aarch64.ram"):
        pa = max(base, (heap_end + 2 * SZ_2M) & ~(SZ_2M - 1))
        if pa + (8 << 20) <= base + size:
            return pa
    pytest.fail("no free RAM above the firmware in %r" % machine.call("aarch64.ram"))


def start_receive(target, pa, size, crc, block=4096, idle_ms=1000, deflate=False):
    """The protocol by hand: start the receiver, wait for its ACK."""
    t = target.transport
    t.exec_raw_no_follow("import aarch64\naarch64.receive(%d, %d, %d, %d, %d, %s)\n" % (
        pa, size, crc, block, idle_ms, deflate))
    assert t.serial.read(1) == UPLOAD_ACK


def deflated_frame(block, crc=None, damage=None):
    """A framed block by hand: the header, then `block` as raw deflate
    (without a dictionary), `damage(bytearray)` applied to those bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = bytearray(c.compress(block) + c.flush())
    if damage:
        damage(packed)
    return struct.pack("<II", len(packed) | UPLOAD_DEFLATED, zlib.crc32(block) if crc is None else crc) + packed


def kernel_like(size, seed=2):
    """Data that deflates as a kernel image does, more or less: code-like
    words, text, zero pages, and a random stretch that does not deflate."""
    r = random.Random(seed)
    words = [r.getrandbits(32).to_bytes(4, "little") for _ in range(300)]
    parts = []
    while sum(map(len, parts)) < size:
        kind = r.randrange(4)
        if kind == 0:
            parts.append(b"".join(r.choice(words) for _ in range(2048)))
        elif kind == 1:
            parts.append(b"the quick brown fox %d jumps over the lazy dog\n" % r.randrange(1000) * 100)
        elif kind == 2:
            parts.append(bytes(4096))
        else:
            parts.append(r.randbytes(3000))
    return b"".join(parts)[:size]


def target_crc32(target, pa, size):
    """The CRC-32 of RAM at pa.. on the target, computed there."""
    return target.eval("__import__('binascii').crc32(__import__('uctypes').bytearray_at(%d, %d))" % (pa, size))


def receiver_error(target, timeout=10):
    """Read the receiver's replies until it ends; its exception."""
    t = target.transport
    t.deadline.at = time.monotonic() + timeout
    try:
        while True:
            reply = t.serial.read(1)
            if reply != UPLOAD_ACK:
                assert reply == b"\x04", reply
                return t.read_until(1, b"\x04")[:-1].decode()
    finally:
        t.deadline.at = None


def test_upload_lands_in_ram_as_sent(target, free_ram):
    # Every byte value, Ctrl-C (0x03) and Ctrl-D (0x04) runs among them: data, not control.
    data = bytes(range(256)) * 4 + b"\x03" * 300 + b"\x04" * 300 + random.Random(1).randbytes(100_000 - 1624)
    calls = []
    target.upload(data, free_ram, progress=lambda sent, total: calls.append((sent, total)), block=16384)
    assert calls[-1] == (len(data), len(data)) and len(calls) == 7
    target.exec("import machine")
    for off in (0, 1024, 1324, 50_000, len(data) - 4):
        assert target.eval("machine.mem32[%d]" % (free_ram + off)) == int.from_bytes(data[off:off + 4], "little")
    assert target.exec("print(1 + 1)").strip() == "2"


def test_upload_from_a_file_of_an_odd_size(target, free_ram, tmp_path):
    path = tmp_path / "blob.bin"
    data = os.urandom(70_001)
    path.write_bytes(data)
    target.upload(str(path), free_ram + 3)     # unaligned too
    target.exec("import machine")
    assert target.eval("machine.mem8[%d]" % (free_ram + 3 + 70_000)) == data[-1]
    assert target.eval("machine.mem8[%d]" % (free_ram + 3)) == data[0]


def test_a_flipped_byte_is_refused(target, free_ram):
    data = bytearray(os.urandom(10_000))
    crc = zlib.crc32(data)
    data[5000] ^= 0x40
    start_receive(target, free_ram, len(data), crc)
    target.transport.serial.write(bytes(data))
    err = receiver_error(target)
    assert "ValueError" in err and "CRC-32 mismatch" in err and "0x%08x" % crc in err
    assert target.exec("print(1 + 1)").strip() == "2"


def test_a_cut_transfer_is_refused_and_the_repl_answers(target, free_ram):
    data = os.urandom(20_000)
    start_receive(target, free_ram, len(data), zlib.crc32(data), block=4096)
    target.transport.serial.write(data[:4096 + 1000])     # one block and a bit, then the host "dies"
    t0 = time.monotonic()
    err = receiver_error(target)
    assert time.monotonic() - t0 < 5
    assert "OSError" in err and "ETIMEDOUT" in err and "after 5096 of 20000 bytes" in err
    assert target.exec("print(1 + 1)").strip() == "2"


def test_a_compressed_upload_lands_in_ram_as_sent(target, free_ram):
    # Deflated blocks refer back into the blocks before them (32 KiB): an odd
    # block size and offset put those references across block boundaries.
    data = kernel_like(300_001)
    calls = []
    # compress=True: deflated on every channel (by default only on the UART).
    r = target.upload(data, free_ram + 1, progress=lambda sent, total: calls.append(sent), block=20_000,
                      compress=True)
    assert r.payload == len(data) and r.blocks == 16 and calls[-1] == len(data)
    assert 0 < r.deflated < r.blocks and r.line < len(data) * 0.7
    assert target_crc32(target, free_ram + 1, len(data)) == zlib.crc32(data)
    target.exec("import machine")
    assert target.eval("machine.mem8[%d]" % (free_ram + len(data))) == data[-1]
    assert target.exec("print(1 + 1)").strip() == "2"


def test_incompressible_data_goes_as_it_is(target, free_ram):
    # Random blocks go raw (framed), a zero block in the middle goes deflated.
    data = os.urandom(40_000) + bytes(20_000) + os.urandom(30_000)
    r = target.upload(data, free_ram, block=20_000, compress=True)
    assert r.blocks == 5 and r.deflated == 1
    raw_line = 3 * (20_000 + 8) + 10_000 + 8     # the four random blocks, each with its header
    assert raw_line + 8 < r.line < raw_line + 200
    assert target_crc32(target, free_ram, len(data)) == zlib.crc32(data)


def test_a_corrupted_deflated_block_is_refused(target, free_ram):
    good = kernel_like(4096, seed=3)
    bad = kernel_like(4096, seed=4)
    cases = [   # what is sent as the second block, and what the target must say about it
        (deflated_frame(bad, crc=zlib.crc32(bad) ^ 1), "CRC-32 mismatch in bytes 4096..8192"),
        (deflated_frame(bad, damage=lambda p: p.__setitem__(len(p) // 2, p[len(p) // 2] ^ 0x10)),
         "bytes 4096..8192"),
        (deflated_frame(bad, damage=lambda p: p.__delitem__(slice(len(p) // 2, None))), "bytes 4096..8192"),
        (struct.pack("<II", 4096 | UPLOAD_DEFLATED, 0) + bytes(4096), "bad block header"),
        (struct.pack("<II", 100, 0) + bytes(100), "bad block header"),
    ]
    for frame, message in cases:
        start_receive(target, free_ram, 3 * 4096, zlib.crc32(good + bad + good), deflate=True)
        target.transport.serial.write(deflated_frame(good))
        target.transport.serial.write(frame)
        err = receiver_error(target)
        assert "ValueError" in err and message in err, (message, err)
        assert target.exec("print(1 + 1)").strip() == "2"
    # The first block was stored and checked before the second failed.
    assert target_crc32(target, free_ram, 4096) == zlib.crc32(good)
    r = target.upload(good + bad + good, free_ram, block=4096, compress=True)
    assert r.deflated == 3 and target_crc32(target, free_ram, 3 * 4096) == zlib.crc32(good + bad + good)


def test_a_cut_compressed_transfer_is_refused(target, free_ram):
    block = kernel_like(4096, seed=5)
    frame = deflated_frame(block)
    start_receive(target, free_ram, 2 * 4096, zlib.crc32(block * 2), deflate=True)
    target.transport.serial.write(frame + frame[:len(frame) // 2])
    err = receiver_error(target)
    assert "OSError" in err and "ETIMEDOUT" in err and "after 4096 of 8192 bytes" in err
    assert target.exec("print(1 + 1)").strip() == "2"


def test_the_firmware_itself_is_refused_before_any_byte(target, firmware):
    calls = []
    for pa in (firmware.symbol("__image_start"), firmware.symbol("__heap_end") - 8,
               firmware.symbol("__image_start") - 4):     # one that ends inside
        with pytest.raises(TargetError) as e:
            target.upload(b"x" * 64, pa, progress=lambda *a: calls.append(a))
        assert e.value.type == "ValueError" and "overlaps the firmware" in e.value.message
    assert calls == []
    assert target.exec("print(1 + 1)").strip() == "2"


def test_unmapped_or_bad_ranges_are_refused(target):
    ram = target.call("aarch64.ram")
    end = max(base + size for base, size in ram)
    for pa, size in ((end, 16), (end - 8, 16), (0xffff_ffff_f000, 16)):
        with pytest.raises(TargetError) as e:
            target.upload(b"y" * size, pa)
        assert e.value.type == "ValueError" and "not inside one RAM range" in e.value.message
    with pytest.raises(TargetError) as e:
        target.call("aarch64.receive", 0x4800_0000, 0, 0)
    assert e.value.type == "ValueError"


def test_cli_upload(board, free_ram, tmp_path):
    if board != "QEMU_VIRT":
        pytest.skip("one board is enough for the command line (it boots its own QEMU)")
    path = tmp_path / "img.bin"
    path.write_bytes(os.urandom(50_000))
    r = subprocess.run([CLI, "-p", "qemu:virt", "upload", str(path), hex(free_ram)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "50000 bytes to 0x%x" % free_ram in r.stdout and "MB/s" in r.stdout
    assert "50008 line bytes (0 of 1 blocks deflated" in r.stdout     # random data goes as it is
    assert "over the virtio console (" in r.stdout                      # qemu:virt's upload channel
    uart = subprocess.run([CLI, "-p", "qemu:virt", "upload", "--uart", str(path), hex(free_ram)],
                          capture_output=True, text=True, timeout=120)
    assert uart.returncode == 0 and "over the UART" in uart.stdout, uart.stderr
    bad = subprocess.run([CLI, "-p", "qemu:virt", "upload", str(path), "0x40200000"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "overlaps the firmware" in bad.stderr
