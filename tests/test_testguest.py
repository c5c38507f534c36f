"""The VM's test guest (guests/testguest/) on its own: its files as a loader
reads them, and its run under plain QEMU virt, which boots an arm64 Image at
EL1 with a device tree in x0 and answers PSCI over HVC itself. No firmware
and no VM here: this proves the guest, so that a VM test can trust it.

Builds nothing: `make guests` (or `make firmware-all`, `make test`) does."""
import re
import struct
import subprocess
import threading
import time

import pytest
from elftools.elf.elffile import ELFFile

from host_tools import boards
from host_tools.target import vm_devicetree

GUESTS = boards.BUILD / "guests"
ELF = GUESTS / "testguest.elf"
BIN = GUESTS / "testguest.bin"

LINK_ADDRESS = 0x4008_0000
RAM_BASE, RAM_SIZE = 0x4000_0000, 256 << 20
QEMU = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-m", "%dM" % (RAM_SIZE >> 20),
        "-nographic", "-nic", "none"]
RUN_TIMEOUT = 60            # a whole run takes well under a second; this only stops a hang


def require(path):
    if not path.exists():
        pytest.fail("%s is missing: run 'make guests' (make test does this)" % path)
    return path


class GuestRun:
    """QEMU running the guest, its console read line by line as it comes."""

    def __init__(self, smp=1, append=None, dtb=None):
        cmd = QEMU + ["-smp", str(smp), "-kernel", str(require(BIN))]
        if append is not None:
            cmd += ["-append", append]
        if dtb is not None:
            cmd += ["-dtb", str(dtb)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, pattern, timeout=RUN_TIMEOUT):
        """The first line matching `pattern` (a regex), waiting for it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (not self.reader.is_alive() and self.proc.poll() is not None):
                    raise AssertionError("no line matches %r; the guest printed:\n%s"
                                         % (pattern, "\n".join(self.lines[-40:])))
                self.changed.wait(min(left, 0.5))

    def finish(self):
        """Wait for the guest to power off (QEMU exits on SYSTEM_OFF): (exit code, lines)."""
        try:
            code = self.proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("the guest did not power off; it printed:\n%s" % "\n".join(self.lines[-40:]))
        self.reader.join(timeout=10)
        return code, list(self.lines)

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join(timeout=10)


def run(smp=1, append=None, dtb=None):
    """A guest run to its end: its console lines, all checked for the prefix."""
    code, lines = GuestRun(smp, append, dtb).finish()
    assert code == 0, lines
    guest = [line for line in lines if line.startswith("testguest: ")]
    assert guest and guest == [line for line in lines if line], \
        "every line the guest prints starts with 'testguest: ':\n%s" % "\n".join(lines)
    return [line[len("testguest: "):] for line in guest]


def failed(lines):
    return [line for line in lines if line.endswith(": FAILED")]


# ---------------------------------------------------------------------------
# The files, as an ELF loader and an Image loader read them

def test_elf_is_an_executable_loaded_and_entered_at_0x40080000():
    with open(require(ELF), "rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_AARCH64" and elf["e_type"] == "ET_EXEC"
        assert elf["e_entry"] == LINK_ADDRESS
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert len(loads) == 1
        assert loads[0]["p_vaddr"] == loads[0]["p_paddr"] == LINK_ADDRESS


def test_image_header_says_where_and_how_big():
    data = require(BIN).read_bytes()
    code0, code1, text_offset, image_size, flags, res2, res3, res4, magic, res5 = \
        struct.unpack("<IIQQQQQQ4sI", data[:64])
    assert magic == b"ARM\x64"
    assert text_offset == 0x8_0000 and RAM_BASE + text_offset == LINK_ADDRESS
    assert code0 >> 26 == 0b000101                  # code0 is a B to the entry code
    assert flags & 1 == 0                           # little endian
    assert (flags >> 1) & 3 == 1                    # 4 KiB pages
    assert flags & 8 == 0                           # placed near the start of RAM: it is linked there
    assert (res2, res3, res4, res5) == (0, 0, 0, 0)
    with open(require(ELF), "rb") as f:
        load = next(s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD")
        assert image_size == load["p_memsz"]        # .bss included: the loader keeps it free
        assert len(data) == load["p_filesz"] < image_size
        assert data == load.data()                  # the .bin is the ELF's bytes


# ---------------------------------------------------------------------------
# The normal run

def test_normal_run_on_four_cpus_passes():
    lines = run(smp=4, append="console=ttyAMA0")
    assert lines[0] == "mode normal"
    assert "memory 0x40000000 0x10000000" in lines
    assert "cpus 4" in lines
    assert "psci hvc" in lines
    assert "bootargs console=ttyAMA0" in lines
    version = next(line for line in lines if line.startswith("psci version "))
    assert re.match(r"psci version (1\.\d+|0\.2) \(0x[0-9a-f]+\): ok$", version)
    for cpu in (1, 2, 3):
        assert "cpu %d ran with context id %d and mpidr 0x%d (expected %d and 0x%d): ok" \
            % (cpu, cpu, cpu, cpu, cpu) in lines
        assert "affinity info of cpu %d after its cpu off: 1 (OFF is 1): ok" % cpu in lines
    assert "psci unknown function 0x840000ff: -1 (NOT_SUPPORTED): ok" in lines
    assert any(line.startswith("svc #0x42 taken by our vectors") and line.endswith(": ok") for line in lines)
    assert any(line.startswith("brk #0x17 taken by our vectors") and line.endswith(": ok") for line in lines)
    assert 'mmio skipped: no "aarch64-el2,test-device" node in the device tree' in lines
    assert failed(lines) == []
    assert lines[-1] == "PASS"


def test_normal_run_on_one_cpu_passes():
    lines = run(smp=1)
    assert "cpus 1" in lines
    assert "bootargs " in lines                     # QEMU gives no bootargs without -append
    assert not any(line.startswith("cpu 1 ") for line in lines)
    assert failed(lines) == []
    assert lines[-1] == "PASS"


def test_reads_the_vms_own_device_tree_and_runs_the_mmio_checks(tmp_path):
    """The tree the VM generates (vm_devicetree), given to QEMU with -dtb,
    with a test device whose registers are plain RAM here: a register file
    behaves as RAM does, so every MMIO check must pass on it."""
    device = 0x4f00_0000
    tree = vm_devicetree.build({
        "ram": RAM_SIZE, "cpus": 2, "cmdline": "mode=normal from the VM's tree",
        "extra_nodes": [vm_devicetree.mmio_node("test-device", device, 0x100, "aarch64-el2,test-device")]})
    dtb = tmp_path / "vm.dtb"
    dtb.write_bytes(tree.dtb())
    lines = run(smp=2, dtb=dtb)
    assert "bootargs mode=normal from the VM's tree" in lines
    assert "cpus 2" in lines and "memory 0x40000000 0x10000000" in lines
    assert "cpu 1 ran with context id 1 and mpidr 0x1 (expected 1 and 0x1): ok" in lines
    assert "test device test-device@4f000000: reg 0x4f000000 0x100 (at least 256 bytes, 8-byte aligned): ok" \
        in lines
    mmio = [line for line in lines if line.startswith("mmio ")]
    assert [line.split(" at ")[0] for line in mmio] == \
        ["mmio 8-bit", "mmio 16-bit", "mmio 32-bit", "mmio 64-bit", "mmio zero register"]
    assert all(line.endswith(": ok") and " at 0x4f000000: " in line for line in mmio)
    assert failed(lines) == []
    assert lines[-1] == "PASS"


# ---------------------------------------------------------------------------
# The modes

def test_mode_mmio_ram_runs_the_mmio_checks_on_its_own_ram():
    lines = run(append="mode=mmio-ram")
    assert lines[0] == "mode mmio-ram"
    assert len([line for line in lines if line.startswith("mmio ") and line.endswith(": ok")]) == 5
    assert lines[-1] == "PASS"


def test_mode_smc_version_reports_what_smc_did():
    # Plain QEMU at EL1 has no EL2 or EL3 to take an SMC: it is undefined,
    # and the guest's own vectors report it. Behind the VM it is answered.
    lines = run(append="mode=smc-version")
    assert lines[0] == "mode smc-version"
    assert "smc-version: smc #0 took an exception in the guest: ESR_EL1 0x2000000 (EC 0x0): FAILED" in lines
    assert lines[-1] == "FAIL 1"


def test_mode_wild_loads_from_nowhere():
    lines = run(append="mode=wild")
    assert lines[0] == "mode wild"
    # QEMU gives an external abort for the first (its own vectors take it).
    assert any(re.match(r"wild: load from 0x700000000 took an exception: .*\(EC 0x25\), FAR_EL1 0x700000000$", line)
               for line in lines)
    assert any(line.startswith("wild: load from 0x30000000 ") for line in lines)


def test_an_unknown_mode_fails():
    lines = run(append="console=ttyAMA0 mode=nosuch quiet")
    assert lines[0] == "mode nosuch"
    assert "mode nosuch: no such mode: FAILED" in lines
    assert lines[-1] == "FAIL 1"


@pytest.mark.parametrize("mode, says", [
    ("wfi", "wfi: interrupts masked, waiting for an interrupt forever"),
    ("udf", "udf: VBAR_EL1 = 0, executing udf #0"),
    ("mmu-garbage", r"mmu-garbage: TTBR0_EL1 0x[0-9a-f]+ \(a page of garbage descriptors\), TCR_EL1 0x[0-9a-f]+, "
                    "setting SCTLR_EL1.M"),
    ("flood", "flood line 200: "),
])
def test_misbehaving_modes_say_what_they_do_before_doing_it(mode, says):
    guest = GuestRun(append="mode=%s" % mode)
    try:
        guest.wait_for("^testguest: mode %s$" % mode)
        guest.wait_for("^testguest: " + says)
        assert guest.running()                  # none of them powers off
        assert not any(re.search(r": (PASS|FAIL)", line) for line in guest.lines)
    finally:
        guest.stop()


def test_checks_fail_on_a_device_that_is_not_a_register_file(tmp_path):
    """The MMIO checks can fail: QEMU's PL031 real-time clock, named as the
    test device, does not give back what was stored. Each width fails on its
    own line, and the end says how many checks failed."""
    tree = vm_devicetree.build({
        "ram": RAM_SIZE, "cpus": 1,
        "extra_nodes": [vm_devicetree.mmio_node("test-device", 0x0901_0000, 0x1000, "aarch64-el2,test-device")]})
    dtb = tmp_path / "rtc.dtb"
    dtb.write_bytes(tree.dtb())
    lines = run(dtb=dtb)
    assert [line.split(" at ")[0] for line in failed(lines)] == \
        ["mmio 8-bit", "mmio 16-bit", "mmio 32-bit", "mmio 64-bit", "mmio zero register"]
    assert "  32-bit: ldrsw x19 gave 0x0, expected 0xffffffff80000001" in lines
    assert lines[-1] == "FAIL 5"


def test_a_cpu_node_without_a_cpu_fails_its_cpu_on(tmp_path):
    """A tree with three cpus on a machine with two: CPU_ON of the third is
    refused, that is one failure, and the guest does not wait for it."""
    dtb = tmp_path / "three.dtb"
    dtb.write_bytes(vm_devicetree.build({"ram": RAM_SIZE, "cpus": 3}).dtb())
    lines = run(smp=2, dtb=dtb)
    assert "cpus 3" in lines
    assert failed(lines) == ["cpu on of cpu 2 (mpidr 0x2, context id 2): -2 (INVALID_PARAMETERS): FAILED"]
    assert "cpu 1 ran with context id 1 and mpidr 0x1 (expected 1 and 0x1): ok" in lines
    assert lines[-1] == "FAIL 1"
