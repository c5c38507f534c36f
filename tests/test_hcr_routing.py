"""HCR_EL2 routing per VM: pcpu's hardware_enable() sets VM, RW, IMO, FMO
and TSC by default (the seed's, arm_vcpu's older pcpu.rs); with
Aarch64PerCpu.new(cpu, routing="vcpu") it sets VM, RW and TSC only (the
newest pcpu.rs), and each vCPU sets its own bits, IMO and FMO among them, on
entry and puts the host's value back on exit (port/core/vcpu.c). A guest
runs the same either way: here the test guest takes 20 virtual timer
interrupts through the virtual GIC in each.

The firmware takes its own IRQs at EL2 (IMO is set from boot on and is the
firmware's), so CPU 1's FMO is cleared first: that is the bit that shows
which side set what."""
import os

import pytest

from conftest import target_result
from regs import HCR_BOOT, HCR_ENABLE
from host_tools.target import sysregs
from test_vm import LOADER_ADDRESS, GUEST, guest_machine, guest_target  # noqa: F401 (fixtures)
from test_vm_irq import check_vtimer

FMO = sysregs.mask("HCR_EL2", "FMO")
HCR_ENABLE_VCPU = sysregs.mask("HCR_EL2", "VM", "RW", "TSC")
# What a vCPU runs with on top of the host's value. The VM here has one vCPU,
# so TTLB too: its TLB maintenance is done on its own CPU (port/core/vm.c).
VCPU_ENTRY = HCR_ENABLE | sysregs.mask("HCR_EL2", "TTLB")


@pytest.mark.parametrize("routing", ["pcpu", "vcpu"])
def test_hcr_el2_and_a_vtimer_guest_in_each_routing(guest_target, board, routing):
    r = target_result(guest_target, "vm_hcr_routing.py", timeout=300, ADDRESS=LOADER_ADDRESS[board],
                      SIZE=os.path.getsize(GUEST), ROUTING=routing)
    before = HCR_BOOT & ~FMO
    assert r["before"] == before
    if routing == "pcpu":
        assert r["enabled"] == before | HCR_ENABLE              # FMO set by enable
    else:
        assert r["enabled"] == before | HCR_ENABLE_VCPU         # VM, RW, TSC; FMO still clear
        assert not r["enabled"] & FMO
    # The vCPU ran with IMO and FMO whoever enabled it, and the host's value
    # came back when it left the guest.
    assert r["guest"] == r["enabled"] | VCPU_ENTRY
    assert r["after_vm"] == r["enabled"]
    assert r["disabled"] == before
    assert r["stop"] == ("system_off", 0), r["out"]
    check_vtimer(r["out"].replace("\r\n", "\n"), 20)
    assert guest_target.read_sysreg("HCR_EL2", cpu=1) == HCR_BOOT


def test_a_bad_routing_is_refused(guest_target):
    out = guest_target.exec("import pcpu\ntry:\n pcpu.Aarch64PerCpu.new(1, routing='both')\n"
                            "except ValueError as e:\n print(e)")
    assert "routing must be 'pcpu'" in out
