"""The firmware finds out what machine it runs on instead of assuming it:
the core (MIDR_EL1) and the CPU count in the banner, the interrupt
controller (GICv2 and GICv3 are driven, test_gicv3.py; one the firmware
does not drive, a GICv4, is reported and the console polled, not a crash), and
the RAM the device tree names (the EL2 map covers it and nothing else)."""
import subprocess

import pytest

from conftest import qemu_url, require_image
from host_tools import boards, connect
from host_tools.target import fdt, sysregs
from qemu_pipe import PipeQemu

# A translation fault (ESR_EL2.ISS.DFSC 0b0001xx): the firmware's own map
# has no entry there; an address QEMU has no device for gives an external
# abort (0b010000) instead.
DFSC_TRANSLATION = 0x04


def boot_to_prompt(board, extra=()):
    """(the PipeQemu, everything printed up to the first prompt)"""
    q = PipeQemu(board, extra)
    q.resume()
    return q, q.expect(b">>> ").decode(errors="replace")


def typed(q, line, timeout=10):
    """What the REPL prints for one typed line."""
    q.write(line.encode() + b"\r")
    return q.expect(b">>> ", timeout).decode(errors="replace")


def banner_line(text):
    return [l for l in text.splitlines() if l.startswith("MicroPython v")][0]


# -- the core and the CPUs ----------------------------------------------------

def test_the_banner_names_the_boards_own_core(board):
    require_image(board)
    q, text = boot_to_prompt(board)
    with q:
        midr = int(typed(q, "import aarch64; print('MIDR', aarch64.read_sysreg('MIDR_EL1'))").split("MIDR")[-1].split()[0])
        assert banner_line(text).endswith("; %s (%s) with Cortex-A72 at EL2" % (board, boards_machine(board)))
        assert sysregs.cpu_name(midr) == "Cortex-A72"


def boards_machine(board):
    return {"QEMU_VIRT": "QEMU virt", "RPI4": "Raspberry Pi 4 Model B"}[board]


@pytest.mark.parametrize("cpu,name", [("cortex-a53", "Cortex-A53"), ("cortex-a57", "Cortex-A57"),
                                      ("cortex-a76", "Cortex-A76"), ("neoverse-n1", "Neoverse-N1"),
                                      ("max", "QEMU max")])
def test_the_banner_names_the_core_qemu_virt_was_given(cpu, name):
    require_image("QEMU_VIRT")
    q, text = boot_to_prompt("QEMU_VIRT", ["-cpu", cpu])
    with q:
        midr = int(typed(q, "import aarch64; print('MIDR', aarch64.read_sysreg('MIDR_EL1'))").split("MIDR")[-1].split()[0])
        assert sysregs.cpu_name(midr) == name                  # what MIDR_EL1 says ...
        assert banner_line(text).endswith(" with %s at EL2" % name)     # ... is what the banner says
        assert "CPUs" not in banner_line(text)                 # 4 CPUs: all of them used
        # os.uname() and sys.implementation keep the build's text, true of any core.
        assert "with AArch64 at EL2" in typed(q, "import os; print(os.uname().machine)")


def test_a_machine_with_more_cpus_than_the_firmware_uses_says_so():
    require_image("QEMU_VIRT")
    q, text = boot_to_prompt("QEMU_VIRT", ["-smp", "8"])
    with q:
        assert banner_line(text).endswith(" at EL2 (the machine has 8 CPUs; this firmware uses 4)")
        out = typed(q, "import aarch64; print('online', aarch64.cpu_count(), aarch64.MAX_CPUS)")
        assert out.split("online")[-1].split()[:2] == ["4", "4"]


# -- the interrupt controller -------------------------------------------------

GICV3 = ["-M", "gic-version=3"]
GICV4 = ["-M", "gic-version=4"]     # not driven: its redistributors have two more frames, untested


def test_a_gicv4_machine_is_reported_and_the_console_is_polled():
    require_image("QEMU_VIRT")
    q, text = boot_to_prompt("QEMU_VIRT", GICV4)
    with q:
        assert "[interrupts: a GICv4 at 0x08000000; this firmware drives a GICv2, or a GICv3" in text
        assert "console input, machine.Timer and the other CPUs are polled" in text
        assert "*** fault" not in text
        assert "42" in typed(q, "print(6 * 7)")
        # A timer fires, and another CPU answers a cross-call, without interrupts.
        out = typed(q, "import aarch64, machine, time; n = []; t = machine.Timer(period=10, callback=n.append); "
                       "time.sleep_ms(300); t.deinit(); print(len(n) >= 10, aarch64.read_sysreg('MPIDR_EL1', cpu=3) & 0xff)")
        assert "True 3" in out
        # Ctrl-C stops a busy loop: the VM polls the UART.
        q.write(b"while True: pass\r\r")
        q.expect(b"... \r\n")
        q.write(b"\x03")
        assert b"KeyboardInterrupt" in q.expect(b">>> ")
        # Guests are refused with a reason, not left without a deadline.
        out = typed(q, "import pcpu, vcpu; pcpu.Aarch64PerCpu.new(0).hardware_enable(); "
                       "vcpu.Aarch64VCpu(vcpu.code(vcpu.A64.hvc(0))).run()")
        assert "AxError: Unsupported: CPU 0 cannot run a guest: guests need interrupts" in out


@pytest.mark.parametrize("gic", [GICV3, GICV4], ids=["gicv3", "gicv4"])
def test_the_host_tools_work_on_a_gicv3_or_gicv4_machine(gic):
    require_image("QEMU_VIRT")
    with connect(qemu_url("QEMU_VIRT"), timeout=10, qemu_extra=gic) as t:
        assert t.eval("6 * 7") == 42
        assert t.read_sysreg("MPIDR_EL1", cpu=2) & 0xFF == 2
        # the RAM disk at / and the flash at /flash, both mounted
        assert t.exec("import vfs\nprint(sorted(p for _, p in vfs.mount()))").strip() == "['/', '/flash']"


# -- RAM from the device tree --------------------------------------------------

def fault_dfsc(t, address):
    """ESR_EL2's DFSC of a read at `address`, or None if it read."""
    out = t.exec("import aarch64, machine\n"
                 "try:\n print(machine.mem32[%d] * 0)\n"
                 "except aarch64.Fault as e:\n print(e.esr & 0x3f)" % address).strip()
    return None if out == "0" else int(out)


def check_ram_is_mapped_exactly(t, ranges):
    assert [tuple(r) for r in t.call("aarch64.ram")] == list(ranges)
    for base, size in ranges:
        assert fault_dfsc(t, base) is None and fault_dfsc(t, base + size - 4) is None
        assert fault_dfsc(t, base + size) & 0x3C == DFSC_TRANSLATION


def test_qemu_virt_ram_is_what_its_device_tree_says():
    require_image("QEMU_VIRT")
    with connect(qemu_url("QEMU_VIRT"), timeout=10, qemu_extra=["-m", "512M"]) as t:
        assert t.eval("__import__('aarch64').DEVICE_TREE") == 0x4000_0000   # QEMU's, at the start of RAM
        check_ram_is_mapped_exactly(t, [(0x4000_0000, 512 << 20)])


def pi_tree():
    """A small tree as a Pi's firmware would pass it (QEMU puts its own memory node in)."""
    t = fdt.Tree()
    t.set("#address-cells", 2).set("#size-cells", 1)
    t.set("compatible", ["raspberrypi,4-model-b", "brcm,bcm2711"])
    t.add("memory@0").set("device_type", "memory").set("reg", [0, 0, 0x3B40_0000])
    cpus = t.add("cpus").set("#address-cells", 1).set("#size-cells", 0)
    for n in range(4):
        cpus.add("cpu@%d" % n).set("device_type", "cpu").set("reg", n).set("compatible", "arm,cortex-a72")
    return t.dtb()


def test_the_pi_maps_the_ram_of_the_device_tree_in_x0(tmp_path):
    require_image("RPI4")
    given = tmp_path / "pi.dtb"
    given.write_bytes(pi_tree())
    # What QEMU hands the firmware in x0: the tree with QEMU's memory node.
    handed = tmp_path / "handed.dtb"
    subprocess.run(["qemu-system-aarch64", "-M", "raspi4b,dumpdtb=%s" % handed, "-dtb", str(given),
                    "-kernel", str(boards.image_path("RPI4")), "-display", "none"], check=True, capture_output=True)
    memory = [n for n in fdt.parse(handed.read_bytes()).children if n.name.startswith("memory")]
    reg = memory[0].cells("reg")
    ranges = [((reg[i] << 32) | reg[i + 1], reg[i + 2]) for i in range(0, len(reg), 3)]
    with connect(qemu_url("RPI4"), timeout=10, qemu_extra=["-dtb", str(given)]) as t:
        assert t.eval("__import__('aarch64').DEVICE_TREE") is not None
        check_ram_is_mapped_exactly(t, ranges)


def test_without_a_device_tree_the_pi_maps_only_the_low_ram_every_pi_4_has():
    require_image("RPI4")
    with connect(qemu_url("RPI4"), timeout=10) as t:      # QEMU raspi4b passes no tree without -dtb
        assert t.eval("__import__('aarch64').DEVICE_TREE") is None
        check_ram_is_mapped_exactly(t, [(0, 0x3B40_0000)])   # below the VideoCore's default 76 MiB
        assert fault_dfsc(t, 0x4000_0000) & 0x3C == DFSC_TRANSLATION   # QEMU's 2nd GiB: not assumed
