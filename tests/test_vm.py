"""Virtual machines (firmware/vm.py over port/core/vm.c): the project's own
test guest (guests/testguest) on 1 and 3 vCPUs, PSCI's PC rule, MMIO of
every width to a Python device, guests that misbehave, 1,000 random guests,
the console (input to the guest, Ctrl-] to pause, resume). On-target code in
tests/target/vm_*.py."""
import os

import pytest

from conftest import qemu_url, require_image, target_result, target_source
from host_tools import TargetError, connect

PROJECT_TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(PROJECT_TOP, "build", "guests", "testguest.bin")
# Where QEMU's loader puts the test guest: in RAM the firmware maps, away
# from the firmware and from the RAM the VM takes for its guest.
LOADER_ADDRESS = {"QEMU_VIRT": 0x7000_0000, "RPI4": 0x3000_0000}


@pytest.fixture(scope="module")
def guest_machine(board):
    require_image(board)
    if not os.path.exists(GUEST):
        pytest.fail("%s is missing: make guests" % GUEST)
    loader = "loader,file=%s,addr=0x%x,force-raw=on" % (GUEST, LOADER_ADDRESS[board])
    t = connect(qemu_url(board), timeout=10, qemu_extra=["-device", loader])
    yield t
    t.close()


@pytest.fixture
def guest_target(guest_machine):
    guest_machine.soft_reset()
    return guest_machine


def run_testguest(t, board, **params):
    # Every console byte is an exit to Python: QEMU raspi4b on a busy host
    # handles a few hundred a second, so the test guest may take a minute.
    params.setdefault("MS", 240_000)
    return target_result(t, "vm_testguest.py", timeout=300, ADDRESS=LOADER_ADDRESS[board],
                         SIZE=os.path.getsize(GUEST), **params)


@pytest.mark.parametrize("cpus", [1, 3])
def test_the_test_guest_passes(guest_target, board, cpus):
    reason, status, vcpu, ipa, out, _ = run_testguest(guest_target, board, CPUS=cpus)
    assert (reason, status, vcpu) == ("system_off", 0, 0), out
    lines = out.splitlines()
    assert "testguest: PASS" in lines
    assert "testguest: memory 0x40000000 0x4000000" in lines          # 64 MiB at 0x4000_0000
    assert "testguest: cpus %d" % cpus in lines
    assert "testguest: psci version 1.0 (0x10000): ok" in lines
    assert sum(1 for line in lines if line.startswith("testguest: mmio ") and line.endswith(": ok")) == 5
    for i in range(1, cpus):
        assert "testguest: cpu %d ran with context id %d and mpidr 0x%x (expected %d and 0x%x): ok" % (
            i, i, i, i, i) in lines
        assert "testguest: affinity info of cpu %d after its cpu off: 1 (OFF is 1): ok" % i in lines
    assert not [line for line in lines if line.endswith("FAILED")]


# The board's default: 4 KiB pages on QEMU virt (QEMU's TCG flushes its
# whole TLB for a guest TLBI inside a larger stage-2 block), the largest
# blocks on the Pi (a TLB entry covers up to a block on hardware).
STAGE2_DEFAULT = {"QEMU_VIRT": 4 << 10, "RPI4": 1 << 30}


@pytest.mark.parametrize("block", [None, 4 << 10, 2 << 20])
def test_the_test_guest_passes_with_each_stage2_block(guest_target, board, block):
    reason, status, _, _, out, used = run_testguest(guest_target, board, CPUS=2, BLOCK=block)
    assert (reason, status) == ("system_off", 0), out
    assert used == (STAGE2_DEFAULT[board] if block is None else block)
    lines = out.splitlines()
    assert "testguest: memory 0x40000000 0x4000000" in lines
    assert "testguest: PASS" in lines and not [line for line in lines if line.endswith("FAILED")]


def test_psci_version_over_smc_returns_after_the_smc(guest_target, board):
    reason, status, _, _, out, _ = run_testguest(guest_target, board, MODE="mode=smc-version")
    assert (reason, status) == ("system_off", 0)
    assert "testguest: smc-version: smc #0 returned 0x10000 (version 1.0): ok" in out


@pytest.mark.parametrize("mode, reason, ipa", [
    ("mode=wild", "fault", 0x7_0000_0000),          # a load where nothing is
    ("mode=udf", "fault", 0x200),                   # its own vectors at 0: the fetch from 0x200 faults
    ("mode=wfi", "timeout", None),                  # asleep with interrupts masked, for ever
    ("mode=mmu-garbage", None, None),               # whatever it does with garbage tables stays in it
    ("mode=flood", "timeout", None),                # console output without end
])
def test_a_misbehaving_test_guest_is_stopped_with_a_report(guest_target, board, mode, reason, ipa):
    # Those that end by themselves get all the time they need; the others
    # are stopped after 10 s (long enough to say which mode they run).
    got_reason, _, vcpu, got_ipa, out, _ = run_testguest(guest_target, board, MODE=mode,
                                                      MS=240_000 if reason == "fault" else 10_000)
    assert got_reason in (("timeout", "fault") if reason is None else (reason,))
    if ipa is not None:
        assert (vcpu, got_ipa) == (0, ipa)
    assert "testguest: mode %s" % mode[5:] in out
    if mode == "mode=flood":
        assert out.count("\n") > 10
    assert guest_target.eval("6 * 7") == 42                            # the REPL carries on


def test_psci_pc_rule_for_hvc_and_smc(target):
    # Two counting adds, one after the HVC, one after the SMC: both ran once.
    assert target_result(target, "vm_psci_pc_rule.py") == ("system_off", 2, 0x10000, 0x10000)


def test_mmio_of_every_width_reaches_the_python_device_and_comes_back_extended(target):
    reason, regs, x28, mem = target_result(target, "vm_mmio_widths.py")
    assert reason == "system_off"
    assert regs == {
        10: 0xFFFF_FFFF_FFFF_FF80,      # ldrsb x
        11: 0xFFFF_FF80,                # ldrsb w: the upper half zero
        12: 0xFFFF_FFFF_FFFF_8001,      # ldrsh x
        13: 0xFFFF_8001,                # ldrsh w
        14: 0xFFFF_FFFF_8000_0001,      # ldrsw
        15: 0x80, 16: 0x8001, 17: 0x8000_0001, 18: 0x8000_0000_0000_0001,
        19: 0,                          # str xzr stored zeros
    }
    assert x28 == 0x8000_0000_0000_0001
    assert mem == bytes.fromhex("80000180" "01000080" "0100000000000080" "0000000000000000")


def test_misbehaving_hand_made_guests(target):
    results = {name: rest for name, *rest in target_result(target, "vm_misbehave.py", timeout=60)}
    assert results["wild_load"][:1] == ["fault"] and results["wild_load"][2] == 0x7_0000_0000
    assert "no RAM or device there" in results["wild_load"][1]
    assert results["low_load"][0] == "fault" and results["low_load"][2] == 0x3000_0000
    assert results["udf"][0] == "fault" and "instruction fetch from IPA 0x200" in results["udf"][1]
    assert results["ldp_to_mmio"][0] == "fault" and "gives no syndrome" in results["ldp_to_mmio"][1]
    assert results["model_raises"][0] == "fault" and "Broken" in results["model_raises"][1]
    assert "raised OSError" in results["model_raises"][1] and "broken at 0" in results["model_raises"][1]
    assert results["wfi_forever"][0] == "timeout"
    assert results["hvc_other"][0] == "timeout"     # HVC #0x42 answered NOT_SUPPORTED, the guest loops on
    assert results["flood"][0] == "timeout" and results["flood"][3] > 10      # its output reached the console
    assert target.eval("6 * 7") == 42


def test_a_thousand_random_guests_leave_the_firmware_as_it_was(target):
    reasons, changed, heap_before, heap_after = target_result(target, "vm_random_guests.py", timeout=900, N=1000)
    assert sum(reasons.values()) == 1000
    assert set(reasons) <= {"fault", "timeout", "system_off", "reset"}
    assert changed == []
    # No growth per guest: a leak of 8 bytes each would be 7 KiB over the 900
    # measured; what stays is at most one VM's objects that a stale word on
    # the stack keeps alive through the (conservative) collection.
    assert heap_after - heap_before < 4096, (heap_before, heap_after)


def test_bad_configurations_are_clear_errors(target):
    def error(code):
        with pytest.raises(TargetError) as e:
            target.exec("import vm\n" + code)
        return str(e.value)
    assert "CPU 0 runs Python and the REPL" in error("vm.VM(cpus=1, cpu_ids=[0])")
    assert "4 vCPUs need 4 CPUs besides CPU 0" in error("vm.VM(cpus=4)")
    assert "not enough free RAM" in error("vm.VM(ram=64 << 30)")
    assert "multiple of 2 MiB" in error("vm.VM(ram=3 << 20)")
    assert "stage2_block must be 4 KiB, 2 MiB or 1 GiB" in error("vm.VM(ram=2 << 20, stage2_block=8192)")
    assert "a VM exists already" in error("a = vm.VM(ram=2 << 20)\nb = vm.VM(ram=2 << 20)")
    target.exec("a.close()")
    assert "load() a kernel first" in error("vm.VM(ram=2 << 20).run()")
    target.exec("vm.VM(ram=2 << 20).close()")       # the abandoned one is collected, not in the way
    assert "overlaps the guest's RAM" in error(
        "v = vm.VM(ram=2 << 20)\ntry:\n v.add_device(0x4000_0000, 4096, vm.RegisterFile())\nfinally:\n v.close()")
    assert target.eval("6 * 7") == 42


def test_stage2_follows_the_cpus_pa_range(target):
    out = target.exec("import vm, _vm, pcpu\np = pcpu.Aarch64PerCpu.new(1)\n"
                      "v = vm.VM(ram=2 << 20)\n"
                      "print(repr((p.pa_range()[-1] + 1, p.max_guest_page_table_levels(), _vm.pa_bits(), v._core.vtcr)))\n"
                      "v.close()")
    top, levels, pa_bits, vtcr = eval(out)
    assert top == 1 << pa_bits
    assert levels == (4 if pa_bits >= 44 else 3)
    t0sz, sl0 = vtcr & 0x3F, (vtcr >> 6) & 3
    assert sl0 == (2 if levels == 4 else 1)                 # the walk starts at level 0 or 1
    assert 64 - t0sz == (min(pa_bits, 48) if levels == 4 else min(pa_bits, 39))


def test_the_device_tree_describes_the_vm(target):
    dts = target.exec("import vm\nv = vm.VM(ram=64 << 20, cpus=2, cmdline='console=ttyAMA0')\n"
                      "v.add_device(0x0b00_0000, 0x1000, vm.RegisterFile())\nprint(v.dts())\nv.close()")
    assert 'bootargs = "console=ttyAMA0";' in dts
    assert "reg = <0x00 0x40000000 0x00 0x4000000>;" in dts
    assert dts.count('enable-method = "psci";') == 2
    assert 'method = "hvc";' in dts
    assert 'compatible = "aarch64-el2,test-device";' in dts


def test_typed_input_reaches_the_guest_and_ctrl_bracket_pauses_it(console):
    console.send("exec(%r)\r" % target_source("vm_echo_guest.py"))
    console.expect(">>> ")
    console.send("v.run()\r")
    console.expect("v.run()\r\n")
    console.send("abc")
    console.expect("bcd", timeout=30)                                   # through the guest: each byte plus one
    console.send("\x1d")                                    # Ctrl-]
    out = console.expect(">>> ", timeout=30)
    assert "VmStop(paused" in out
    console.send("v.run()\r")                               # resumes where it was
    console.expect("v.run()\r\n")
    console.send("x")
    console.expect("y", timeout=30)                         # the guest runs again: run() owns the console now
    console.send("\x03")                                    # Ctrl-C is the guest's: it echoes \x04
    console.expect("\x04", timeout=30)
    console.send("q")
    out = console.expect(">>> ", timeout=30)
    assert "VmStop(system_off, vcpu=0" in out
    console.send("v.close(); print(6 * 7)\r")
    assert "42" in console.expect(">>> ")
