"""A physical device passed through to a VM with its interrupt forwarded
(vm.VM.passthrough(base, size, irq=INTID), KVM's forwarded IRQs): QEMU
virt's PL031 RTC at 0x0901_0000, SPI 2 (INTID 34), mapped into the guest at
its own address; the physical interrupt is routed to the vCPU's CPU, taken
at EL2 and queued in a list register with the HW bit, so the guest's EOI on
its GIC CPU interface (GICV) deactivates the physical interrupt: no exit for
it. The test guest's mode=rtc sets a match alarm and takes the interrupt.

GICv2 (QEMU virt); on a GICv3 host passthrough(irq=) is refused."""
import os
import subprocess

import pytest

from conftest import require_image, target_result
from host_tools import connect
from test_testguest import BIN, QEMU, require
from test_vm import GUEST, LOADER_ADDRESS

RTC, INTID = 0x0901_0000, 34
RTC_LINE = ("testguest: rtc: took 1 interrupts with INTID 34 from GICC_IAR (RTCMIS 1, RTCRIS 0 after RTCICR), "
            "0 with another INTID, 0 spurious: ok")


@pytest.fixture(scope="module")
def virt():
    require_image("QEMU_VIRT")
    if not os.path.exists(GUEST):
        pytest.fail("%s is missing: make guests" % GUEST)
    loader = "loader,file=%s,addr=0x%x,force-raw=on" % (GUEST, LOADER_ADDRESS["QEMU_VIRT"])
    t = connect("qemu:virt", timeout=10, qemu_extra=["-device", loader])
    yield t
    t.close()


def test_the_rtc_mode_under_plain_qemu():
    # QEMU virt's own GIC and PL031: the guest's side is right.
    r = subprocess.run(QEMU + ["-smp", "1", "-kernel", str(require(BIN)), "-append", "console=ttyAMA0 mode=rtc"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = r.stdout.decode().replace("\r\n", "\n").splitlines()
    assert RTC_LINE in out and "testguest: PASS" in out, out


def test_the_guest_takes_the_rtc_interrupt_forwarded_with_the_hw_bit(virt):
    virt.soft_reset()
    r = target_result(virt, "vm_passthrough.py", timeout=300, ADDRESS=LOADER_ADDRESS["QEMU_VIRT"],
                      SIZE=os.path.getsize(GUEST), RTC=RTC, INTID=INTID)
    lines = r["out"].replace("\r\n", "\n").splitlines()
    assert r["stop"] == ("system_off", 0), r["out"]
    assert RTC_LINE in lines and "testguest: PASS" in lines      # INTID 34 seen, the RTC's interrupt cleared
    assert r["forwarded"] and r["forwarded_taken"] == 1 and r["injected"] >= 1
    # While the VM holds it: routed to the vCPU's CPU, enabled, and not
    # active: the guest's EOI deactivated the physical interrupt.
    assert r["during"] == {"enabled": True, "active": False, "target": 1 << r["cpu"]}
    # After close(): the host's again (off, to CPU 0); the RTC's line is down.
    assert r["after"] == {"enabled": False, "active": False, "target": 1}
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


def test_a_gicv3_host_refuses_forwarding():
    require_image("QEMU_VIRT")
    with connect("qemu:virt?gic=3", timeout=10) as t:
        out = t.exec("import vm\nv = vm.VM(ram=16 << 20)\ntry:\n v.passthrough(0x09010000, 0x1000, irq=34)\n"
                     "except ValueError as e:\n print(e)\nv.close()")
    assert out.strip() == "irq=: interrupts are forwarded to guests on a GICv2 host only"
