"""The write policy of write_sysreg(): one decision for every register of
the table (sysregs.WRITE_POLICY, listed in docs/reliability.md), enforced on the target
for names and encodings alike. The writes the register fuzz found wedging
the firmware, one by one (tests/target/register_policy.py)."""
import re

import pytest

from host_tools import boards
from host_tools.target import sysregs
from target_checks import interrupted_by_ctrl_c, run_file

RELIABILITY = boards.PROJECT_TOP / "docs" / "reliability.md"   # the README's Reliability section, in full


def test_every_register_has_one_decision():
    names = [name for name, _, _ in sysregs.WRITE_POLICY]
    assert sorted(names) == sorted(sysregs.REGISTERS)
    for name, decision, why in sysregs.WRITE_POLICY:
        assert decision in (sysregs.READ_ONLY, sysregs.OWNED, sysregs.CHECKED, sysregs.FREE, sysregs.CONSEQUENCE)
        assert (decision == sysregs.READ_ONLY) == (sysregs.REGISTERS[name][5] == sysregs.RO), name
        if decision == sysregs.OWNED:
            assert sysregs.owned_mask(name), name
        if decision in (sysregs.FREE, sysregs.CONSEQUENCE):
            assert sysregs.owned_mask(name) == 0, name
        assert why, name


def test_the_readme_lists_every_decision():
    listed = set(re.findall(r"`([A-Za-z][A-Za-z0-9_]*)`", RELIABILITY.read_text()))
    missing = sorted(n for n in sysregs.REGISTERS if n not in listed)
    assert not missing, "docs/reliability.md does not list %s" % missing



@pytest.fixture(scope="module")
def policy(machine):
    machine.soft_reset()
    return run_file(machine, "register_policy.py", timeout=60)


@pytest.mark.parametrize("case,text", [
    ("HCR_EL2 = 0", "HCR_EL2 bits 0x10 (E2H IMO) are the firmware's own"),
    ("HCR_EL2 = 0x28", "HCR_EL2 bits 0x10 (E2H IMO) are the firmware's own"),
    ("DAIF = I", "DAIF is read-only"),
    ("CNTHP_CTL_EL2 = 0", "CNTHP_CTL_EL2 is read-only"),
    ("CNTHP_CTL_EL2 = IMASK", "CNTHP_CTL_EL2 is read-only"),
    ("CNTHP_CVAL_EL2 far", "CNTHP_CVAL_EL2 is read-only"),
    ("CNTHP_TVAL_EL2 far", "CNTHP_TVAL_EL2 is read-only"),
])
def test_timers_and_ctrl_c_on_cpu0_cannot_be_switched_off(policy, case, text):
    exc, message, timer_fires = policy[case]
    assert exc == "ValueError" and text in message
    assert timer_fires


def test_virtualization_is_enabled_only_on_the_vcpu_vectors(policy):
    exc, message, guest = policy["VM on host vectors"]
    assert exc == "ValueError" and "needs VBAR_EL2 = VCPU_VECTORS first" in message
    assert guest == "AxError"                       # the CPU stayed disabled
    exc, message, guest, hcr, host_vectors = policy["VM on vCPU vectors"]
    assert exc is None and guest == "HVC64"        # by hand, in the right order: a guest runs
    assert int(hcr, 16) & 1 == 0 and host_vectors  # and pcpu's disable undoes it


@pytest.mark.parametrize("case,text", [
    ("enabled: VBAR_EL2 = HOST_VECTORS", "must stay VCPU_VECTORS while HCR_EL2.VM is set"),
    ("enabled: RW cleared", "HCR_EL2.VM needs RW set"),
    ("enabled: TGE set", "HCR_EL2.VM needs TGE clear"),
    ("enabled: IMO cleared", "(E2H IMO) are the firmware's own"),
])
def test_an_enabled_cpu_keeps_what_its_guests_need(policy, case, text):
    exc, message, guest = policy[case]
    assert exc == "ValueError" and text in message
    assert guest == "HVC64"


def test_the_host_vectors_are_never_lost(policy):
    assert policy["VCPU_VECTORS by hand, enable, disable"] == (True,)


@pytest.mark.parametrize("what,exc,text", [
    ("SPSel", "ValueError", "S3_0_C4_C2_0 is read-only by encoding: a PSTATE field or special-purpose register"),
    ("FPCR", "ValueError", "read-only by encoding: a PSTATE field or special-purpose register"),
    ("TTBR0_EL2", "ValueError", "TTBR0_EL2 is read-only"),
    ("TCR_EL2", "ValueError", "TCR_EL2 is read-only"),
    ("RMR_EL2", "ValueError", "read-only by encoding: an EL2 register the register table makes no decision"),
    ("CPUACTLR_EL1", "ValueError", "read-only by encoding: an implementation-defined register"),
    ("VBAR_EL3", "Fault", "write of S3_6_C12_C0_0 on CPU 1 faulted"),
])
def test_registers_named_by_encoding_cannot_wedge_the_firmware(policy, what, exc, text):
    got_exc, message, timer_fires = policy["%s by encoding = 0" % what]
    assert got_exc == exc and text in message
    assert timer_fires


def test_other_unknown_encodings_are_written(policy):
    assert policy["DBGBVR0_EL1 by encoding"] == (None, "", True)


def test_afterwards_every_cpu_answers_and_ctrl_c_works(policy, machine):
    assert policy["every CPU answers"] == (True, True)
    t = machine
    assert interrupted_by_ctrl_c(t)
    assert t.eval("6 * 7") == 42
