"""Every CPU takes part: bring-up, cross-calls, per-CPU state and IRQs."""
import pytest

from host_tools import TargetError

from conftest import run_target_file, target_result
from regs import CPTR_TFP, HCR_ENABLE, field


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_cpu_count_matches_smp_and_each_cpu_has_its_mpidr(boot, board, smp):
    if board == "RPI4" and smp != 4:
        pytest.skip("the Pi 4 (and QEMU raspi4b) always has 4 cores")
    t = boot(smp=smp)
    assert t.cpu_count() == smp
    mpidrs = [t.read_sysreg("MPIDR_EL1", cpu=c) for c in range(smp)]
    assert [field("MPIDR_EL1", "Aff0", m) for m in mpidrs] == list(range(smp))
    rows = t.pcpu_status()
    assert [r["cpu_id"] for r in rows] == list(range(smp))
    if smp < 4:
        with pytest.raises(TargetError) as e:
            t.read_sysreg("HCR_EL2", cpu=smp)
        assert e.value.type == "ValueError" and "not online" in e.value.message
        with pytest.raises(TargetError) as e:
            run_target_file(t, "pcpu_new.py", CPU=smp)
        assert e.value.type == "AxError" and "InvalidInput" in e.value.message


def test_every_cpu_has_its_own_vectors_and_stack(target, firmware):
    host = firmware.symbol("host_exception_vectors")
    assert [target.read_sysreg("VBAR_EL2", cpu=c) for c in range(4)] == [host] * 4
    # CPTR_EL2.TFP clear: FP/SIMD does not trap on any CPU.
    assert all(not target.read_sysreg("CPTR_EL2", cpu=c) & CPTR_TFP for c in range(4))


def test_enable_cpu2_only(target, firmware):
    before = target_result(target, "regs_snapshot.py", REGS=("VBAR_EL2", "HCR_EL2"))
    target.pcpu_enable(2)
    after = target_result(target, "regs_snapshot.py", REGS=("VBAR_EL2", "HCR_EL2"))
    assert after[2] == (firmware.symbol("exception_vector_base_vcpu"), before[2][1] | HCR_ENABLE)
    for c in (0, 1, 3):
        assert after[c] == before[c]


def test_enable_all_disable_all_restores_each_cpu_from_its_own_slot(target):
    # Each CPU gets a different host value first, so a mixed-up slot would show.
    r = target_result(target, "smp_enable_all_disable_all.py")
    assert all(row["enabled"] and row["vectors"] == "vcpu" for row in r["enabled"])
    assert r["after"] == r["before"]


def test_timer_irq_on_cpu3_goes_through_cpu3s_irq_handler_only(target):
    d1, d2, d3 = target_result(target, "smp_timer_irq_on_cpu.py", CPU=3, HZ=1000, MS=100)
    assert d1 == 0 and d2 == 0
    assert 80 <= d3 <= 130     # 1 kHz for 100 ms, plus the cross-call SGIs


def test_a_cpu_that_does_not_answer_times_out_and_nothing_changes(target):
    hcr = target.read_sysreg("HCR_EL2", cpu=1)
    assert target_result(target, "smp_stalled_cpu_write.py", CPU=1, STALL_MS=2500) == 110    # ETIMEDOUT
    assert target.read_sysreg("HCR_EL2", cpu=1) == hcr


def test_a_1khz_timer_loses_no_period_while_a_cross_call_waits(target):
    # CPU 0 runs Python callbacks and cannot while it waits in C for a slow
    # CPU; the timer counts the periods meanwhile and its next callback says
    # how many it stands for (Timer.periods()), so none is lost.
    waited, ticks, ms = target_result(target, "smp_timer_during_cross_call.py", CPU=1, STALL_MS=80)
    assert waited >= 70                  # the read did wait for the stalled CPU
    assert ms - 2 <= ticks <= ms + 2
