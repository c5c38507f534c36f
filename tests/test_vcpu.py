"""A tiny EL1 guest proves each HCR_EL2 bit hardware_enable() sets. The guest
programs are tests/target/vcpu_*.py."""
import pytest

from host_tools import TargetError

from conftest import target_result, target_source
from regs import field


def test_hvc_exits_with_ec_0x16_and_the_immediate(target):
    assert target_result(target, "vcpu_hvc.py") == ("sync", 0x16, "HVC64", 0x42, 0x4000_0008, 7)


def test_smc_is_trapped_by_tsc_and_resumes_after_it(target):
    assert target_result(target, "vcpu_smc.py") == (0x17, 0x4000_0004, 0x16, 1, 9)


def test_load_outside_stage2_is_a_data_abort_with_the_ipa(target):
    assert target_result(target, "vcpu_stage2_abort.py") == (0x24, "DABT_LOWER", 0x8000_0000, 0x8000_0000, 0x4000_0004)


def test_timer_irq_during_a_busy_loop_exits_and_the_host_handles_it(target):
    fired, kind, pc = target_result(target, "vcpu_timer_irq.py")
    assert fired == [1] and kind == "irq" and pc == 0x4000_0000


def test_the_guest_runs_aarch64_at_el1(target):
    assert target_result(target, "vcpu_el1_aarch64.py") == (1, 0xFFFF << 48)    # EL1, and a 64-bit register: AArch64 (RW)


def test_registers_go_in_and_come_back(target):
    assert target_result(target, "vcpu_registers.py") == (42, 2**40 + 5, 42, 0x4000_0014, 0x4001_0000)


def test_timeout_stops_a_guest_that_never_exits(target):
    assert target_result(target, "vcpu_timeout.py") == ("timeout", True)
    assert target.eval("6 * 7") == 42


def test_ctrl_c_stops_a_guest_that_never_exits(console):
    console.send("import pcpu, vcpu; from vcpu import A64, code; pcpu.Aarch64PerCpu.new(0).hardware_enable()\r")
    console.expect(">>> ")
    console.send("v = vcpu.Aarch64VCpu(code(A64.b(0)))\r")
    console.expect(">>> ")
    console.send("while True: v.run()\r\r")
    console.expect("... \r\n")
    console.send("\x03")
    assert "KeyboardInterrupt" in console.expect(">>> ")
    console.send("import aarch64; print(aarch64.read_sysreg('HCR_EL2') & 1, 6 * 7)\r")
    assert "1 42" in console.expect(">>> ")


def test_run_is_refused_while_disabled_and_after_disable(target, firmware):
    assert target_result(target, "vcpu_refused_while_disabled.py") == ("BadState", 0x16, "BadState")
    assert target.read_sysreg("VBAR_EL2") == firmware.symbol("host_exception_vectors")


@pytest.mark.parametrize("cpu", [1, 2, 3])
def test_a_guest_runs_on_the_cpu_it_names(target, cpu):
    ec, mpidr = target_result(target, "vcpu_on_cpu.py", CPU=cpu)
    assert (ec, field("MPIDR_EL1", "Aff0", mpidr)) == (0x16, cpu)


def test_null_hypercalls_are_answered_in_c(target):
    assert target_result(target, "vcpu_null_hvc.py") == (7, (1001, 1000))


@pytest.mark.parametrize("code,exc", [
    ("vcpu.Aarch64VCpu(b'')", "ValueError"),
    ("vcpu.Aarch64VCpu(b'abc')", "ValueError"),
    ("vcpu.Aarch64VCpu(123)", "TypeError"),
    ("vcpu.Aarch64VCpu(code(A64.hvc(0)), cpu_id=9)", "AxError"),
    ("vcpu.Aarch64VCpu(code(A64.hvc(0))).regs[31]", "IndexError"),
    ("vcpu.Aarch64VCpu(code(A64.hvc(0))).run(timeout_ms=0)", "ValueError"),
])
def test_bad_vcpu_input(target, code, exc):
    with pytest.raises(TargetError) as e:
        target.exec(target_source("vcpu_enabled.py") + code)
    assert e.value.type == exc
    assert target.eval("6 * 7") == 42


def test_exit_records_kept_across_collections_hold_their_own_registers(target):
    assert target_result(target, "vcpu_exit_records_kept.py") == (30, 30, 3000)
