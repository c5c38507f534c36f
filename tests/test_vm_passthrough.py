"""A physical device passed through to a VM with its interrupt forwarded
(vm.VM.passthrough(base, size, irq=INTID), KVM's forwarded IRQs): QEMU
virt's PL031 RTC at 0x0901_0000, SPI 2 (INTID 34), mapped into the guest at
its own address; the physical interrupt is routed to the vCPU's CPU, taken
at EL2 and queued in a list register with the HW bit, so the guest's EOI on
its GIC CPU interface (GICV) deactivates the physical interrupt: no exit for
it. The test guest's mode=rtc sets a match alarm and takes the interrupt.

On QEMU virt with a GICv2 and with a GICv3 (ICH_LR<n>_EL2's HW bit and
pINTID, the host's ICC_* with EOImode split)."""
import os
import subprocess

import pytest

from conftest import require_image, target_result
from host_tools import connect
from test_testguest import BIN, QEMU, require
from test_vm import GUEST, LOADER_ADDRESS

RTC, INTID = 0x0901_0000, 34


def rtc_line(gic):
    return ("testguest: rtc: took 1 interrupts with INTID 34 from %s (RTCMIS 1, RTCRIS 0 after RTCICR), "
            "0 with another INTID, 0 spurious: ok" % ("GICC_IAR" if gic == 2 else "ICC_IAR1_EL1"))


def loaded(url):
    require_image("QEMU_VIRT")
    if not os.path.exists(GUEST):
        pytest.fail("%s is missing: make guests" % GUEST)
    loader = "loader,file=%s,addr=0x%x,force-raw=on" % (GUEST, LOADER_ADDRESS["QEMU_VIRT"])
    return connect(url, timeout=10, qemu_extra=["-device", loader])


@pytest.fixture(scope="module", params=[2, 3], ids=["gicv2", "gicv3"])
def virt(request):
    t = loaded("qemu:virt" if request.param == 2 else "qemu:virt?gic=3")
    t.gic = request.param
    yield t
    t.close()


@pytest.mark.parametrize("gic", [2, 3])
def test_the_rtc_mode_under_plain_qemu(gic):
    # QEMU virt's own GIC and PL031: the guest's side is right.
    qemu = [w.replace("virt", "virt,gic-version=%d" % gic) if w == "virt" else w for w in QEMU]
    r = subprocess.run(qemu + ["-smp", "1", "-kernel", str(require(BIN)), "-append", "console=ttyAMA0 mode=rtc"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = r.stdout.decode().replace("\r\n", "\n").splitlines()
    assert rtc_line(gic) in out and "testguest: PASS" in out, out


def test_the_guest_takes_the_rtc_interrupt_forwarded_with_the_hw_bit(virt):
    virt.soft_reset()
    r = target_result(virt, "vm_passthrough.py", timeout=300, ADDRESS=LOADER_ADDRESS["QEMU_VIRT"],
                      SIZE=os.path.getsize(GUEST), RTC=RTC, INTID=INTID)
    lines = r["out"].replace("\r\n", "\n").splitlines()
    assert r["stop"] == ("system_off", 0), r["out"]
    assert r["gic"] == virt.gic
    assert rtc_line(virt.gic) in lines and "testguest: PASS" in lines     # INTID 34 seen, the RTC's interrupt cleared
    assert r["forwarded"] and r["forwarded_taken"] == 1 and r["injected"] >= 1
    # While the VM holds it: routed to the vCPU's CPU (GICv2: its bit in
    # ITARGETSR; GICv3: its affinity in IROUTER, Aff0 = CPU number on virt),
    # enabled, and not active: the guest's EOI deactivated the physical one.
    cpu_target = (lambda c: 1 << c) if virt.gic == 2 else (lambda c: c)
    assert r["during"] == {"enabled": True, "active": False, "target": cpu_target(r["cpu"])}
    # After close(): the host's again (off, to CPU 0); the RTC's line is down.
    assert r["after"] == {"enabled": False, "active": False, "target": cpu_target(0)}
    assert r["rtc_ris"] == 0
    assert virt.eval("6 * 7") == 42


def test_bad_passthrough_interrupts_are_refused(virt):
    virt.soft_reset()
    out = virt.exec("import vm\nv = vm.VM(ram=16 << 20)\n"
                    "for irq in (27, 200, 33):\n"
                    " try:\n  v.passthrough(0x09010000, 0x1000, irq=irq)\n"
                    " except ValueError as e:\n  print(e)\n"
                    "try:\n v._core.forward(33, True)\n"      # the C side, asked directly
                    "except ValueError as e:\n print(e)\n"
                    "v.close()")
    lines = out.splitlines()
    assert lines[:2] == ["irq must be an SPI, INTID 32..127, not 27", "irq must be an SPI, INTID 32..127, not 200"]
    assert lines[2].startswith("INTID 33 is <PL011 object") and lines[2].endswith("'s already")    # the console's
    # ... and the firmware's own UART interrupt is never a guest's.
    assert lines[3] == "INTID 33 is the firmware's own (a driver of its handles it)"

