"""The upload channel: QEMU virt's virtio console beside the UART
(core/virtio_console.c, aarch64.receive(..., channel=1)). Target.upload sends
its data bytes there when the channel is known, the ACKs still come over
the UART; the bytes land as sent; a target without the channel uploads over
the UART; a wrong path or a channel that closes mid-transfer is one clear
error and the REPL answers afterwards."""
import os
import signal
import socket
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from host_tools import LinkError, TargetError
from host_tools.target_api import Target
from test_upload import free_ram, kernel_like, target_crc32  # noqa: F401 (free_ram: the fixture)

CLI = str(Path(sys.executable).with_name("aarch64-el2"))


def need_channel(target):
    if not target.upload_channel:
        pytest.skip("this board has no upload channel (a virtio console): uploads go over the UART")


@pytest.mark.parametrize("data", [
    b"\x5a",
    bytes(range(256)) * 16 + b"\x03\x04" * 100,                     # Ctrl-C, Ctrl-D: data, not control
    kernel_like(1_000_003),                                         # odd, several blocks, the last one short
    os.urandom(300_001),                                            # incompressible
], ids=["1-byte", "4296-byte", "1000003-byte-kernel-like", "300001-byte-random"])
def test_an_upload_over_the_virtio_console_lands_as_sent(target, free_ram, data):
    need_channel(target)
    pa = free_ram + 5                                               # unaligned
    sent = []
    r = target.upload(data, pa, progress=lambda n, total: sent.append(n))
    assert r.channel == "virtio " + target.upload_channel
    assert r.payload == len(data) and sent[-1] == len(data)
    assert target_crc32(target, pa, len(data)) == zlib.crc32(data)
    target.exec("import machine")
    assert target.eval("machine.mem8[%d]" % (pa + len(data) - 1)) == data[-1]
    assert target.exec("print(1 + 1)").strip() == "2"


def test_the_firmware_names_the_console_it_drives(target):
    need_channel(target)
    base, version = target.call("aarch64.virtio_console")
    # One of QEMU virt's 32 transports (0x0a000000, 0x200 apart); legacy unless QEMU is told otherwise.
    assert 0x0a00_0000 <= base < 0x0a00_4000 and base % 0x200 == 0 and version == 1


def test_deflated_blocks_go_over_the_virtio_console_too(target, free_ram):
    need_channel(target)
    data = kernel_like(200_000, seed=7)
    r = target.upload(data, free_ram, compress=True, block=16384)
    assert r.channel.startswith("virtio") and r.deflated > 0 and r.line < len(data)
    assert target_crc32(target, free_ram, len(data)) == zlib.crc32(data)


def test_the_uart_still_carries_an_upload_when_asked(target, free_ram):
    data = os.urandom(20_001)
    r = target.upload(data, free_ram, channel="uart")
    assert r.channel == "uart"
    assert target_crc32(target, free_ram, len(data)) == zlib.crc32(data)


def test_a_target_without_the_channel_uploads_over_the_uart(target, free_ram, board):
    # The Raspberry Pi 4 has no virtio console: its host knows no channel,
    # and its firmware refuses channel 1 before any byte.
    if target.upload_channel:
        pytest.skip("this board has the channel (the RPI4 run covers one without)")
    data = kernel_like(50_000, seed=9)
    r = target.upload(data, free_ram)
    assert r.channel == "uart" and r.deflated > 0
    assert target_crc32(target, free_ram, len(data)) == zlib.crc32(data)
    assert target.call("aarch64.virtio_console") is None
    with pytest.raises(TargetError) as e:
        target.call("aarch64.receive", free_ram, 16, 0, 4096, 1000, True, 1)
    assert e.value.type == "OSError" and "ENODEV" in e.value.message and "no virtio console" in e.value.message
    assert target.exec("print(1 + 1)").strip() == "2"


def test_a_channel_named_for_a_target_without_the_device_falls_back_to_the_uart(target, free_ram, tmp_path):
    # A socket that is there (so the host opens it), in front of a firmware
    # with no virtio console: the target says ENODEV, the upload goes over the UART.
    if target.upload_channel:
        pytest.skip("this board has the channel")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "channel"))
    listener.listen(1)
    warnings = []
    target.warn = warnings.append
    try:
        target.upload_channel = str(tmp_path / "channel")
        data = os.urandom(10_000)
        r = target.upload(data, free_ram)
    finally:
        target.upload_channel = None
        del target.warn
        listener.close()
    assert r.channel == "uart" and len(warnings) == 1 and "no virtio console" in warnings[0]
    assert target_crc32(target, free_ram, len(data)) == zlib.crc32(data)


def test_a_wrong_channel_path_is_one_clear_error(target, free_ram, tmp_path):
    for path, what in ((tmp_path / "nothing-here", "No such file"), (tmp_path, "neither a unix socket nor a pty")):
        t = Target(transport=target.transport, upload_channel=str(path))
        with pytest.raises(LinkError) as e:
            t.upload(b"x" * 1000, free_ram)
        assert str(path) in str(e.value) and what in str(e.value)
        assert target.exec("print(1 + 1)").strip() == "2"


class _CuttingRelay(threading.Thread):
    """A unix socket in front of the real channel that passes `limit` bytes
    and then closes both ends, as a channel that goes away mid-transfer."""

    def __init__(self, path, channel, limit):
        super().__init__(daemon=True)
        self.channel, self.limit = channel, limit
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(path)
        self.listener.listen(1)

    def run(self):
        host, _ = self.listener.accept()
        qemu = socket.socket(socket.AF_UNIX)
        qemu.connect(self.channel)
        passed = 0
        while passed < self.limit:     # limit 0: closed as soon as the host connects
            chunk = host.recv(min(65536, self.limit - passed))
            if not chunk:
                break
            qemu.sendall(chunk)
            passed += len(chunk)
        host.close()
        qemu.close()
        self.listener.close()


@pytest.mark.parametrize("limit", [0, 100_000], ids=["at-once", "after-100000-bytes"])
def test_a_channel_closed_mid_transfer_is_one_clear_error_and_the_repl_answers(target, free_ram, tmp_path, limit):
    # At once: the host's write fails (EPIPE); later: the bytes stop coming and the target gives up.
    need_channel(target)
    relay = _CuttingRelay(str(tmp_path / "cut"), target.upload_channel, limit)
    relay.start()
    t = Target(transport=target.transport, upload_channel=str(tmp_path / "cut"))
    with pytest.raises(LinkError) as e:
        t.upload(os.urandom(500_000), free_ram, block=32768)
    relay.join(10)
    assert "upload channel %s" % (tmp_path / "cut") in str(e.value)
    assert "ETIMEDOUT" in str(e.value) or "failed after" in str(e.value)
    assert target.exec("print(1 + 1)").strip() == "2"
    # The channel itself is fine afterwards: the next upload goes through it.
    data = os.urandom(100_000)
    assert target.upload(data, free_ram).channel.startswith("virtio")
    assert target_crc32(target, free_ram, len(data)) == zlib.crc32(data)


def test_boot_env_exports_the_channel_and_a_running_target_uploads_through_it(board, free_ram, tmp_path):
    if board != "QEMU_VIRT":
        pytest.skip("the board with an upload channel")
    r = subprocess.run([CLI, "boot", "--env", "--board", board], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    env = dict(os.environ)
    for line in r.stdout.splitlines():
        for assignment in line.split(";"):
            name, eq, value = assignment.strip().partition("=")
            if eq and name.startswith("EL2_"):
                env[name] = value
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(30_001))
    try:
        assert os.path.exists(env["EL2_UPLOAD_CHANNEL"])
        up = subprocess.run([CLI, "upload", str(path), hex(free_ram)], capture_output=True, text=True, timeout=120,
                            env=env)
        assert up.returncode == 0, up.stderr
        assert "30001 bytes to 0x%x" % free_ram in up.stdout
        assert "over the virtio console (%s)" % env["EL2_UPLOAD_CHANNEL"] in up.stdout
        # The channel belongs to the target at $EL2_PORT: named another way, the
        # same target is reached over its UART alone.
        other = dict(env, EL2_PORT="/dev/null")
        up = subprocess.run([CLI, "-p", env["EL2_PORT"], "upload", str(path), hex(free_ram)], capture_output=True,
                            text=True, timeout=120, env=other)
        assert up.returncode == 0 and "over the UART" in up.stdout, up.stderr
    finally:
        os.kill(int(env["EL2_BOOT_PID"]), signal.SIGTERM)


def test_a_modern_virtio_mmio_transport_carries_it_too(board, boot, free_ram):
    if board != "QEMU_VIRT":
        pytest.skip("the board with an upload channel")
    t = boot(qemu_extra=["-global", "virtio-mmio.force-legacy=false"])   # version 2: VIRTIO_F_VERSION_1, QueueReady
    assert t.call("aarch64.virtio_console")[1] == 2
    data = kernel_like(200_003, seed=11)
    r = t.upload(data, free_ram)
    assert r.channel.startswith("virtio")
    assert target_crc32(t, free_ram, len(data)) == zlib.crc32(data)
