"""A guest must not reach the host or the next guest (issue: isolation
defects of the vCPU). Each test runs a file of tests/target/ on the target,
as `mpremote run tests/target/<file>` would, and checks what it printed."""
import pytest

from conftest import target_result as run_file
from host_tools import TargetError
from host_tools.target import sysregs


def test_a_guest_cannot_switch_off_the_run_deadline(target):
    for cpu, how, kind, runs, ms in run_file(target, "isolation_deadline.py", MS=50):
        assert kind == "timeout", (cpu, how, kind, runs)
        assert ms >= 50, (cpu, how, ms)


@pytest.mark.parametrize("cpu", [0, 1])
def test_the_guests_fpcr_does_not_stay_in_force_on_the_host(target, cpu):
    before, exit_name, guest_fpcr, after = run_file(target, "isolation_fpcr.py", CPU=cpu)
    assert exit_name == "HVC64" and guest_fpcr & (1 << 24)     # the guest really had FZ set
    assert before == after == 1e-310                            # the host does not flush to zero


@pytest.mark.parametrize("cpu", [0, 2])
def test_el1_state_does_not_leak_from_one_vcpu_to_the_next(target, cpu):
    out = run_file(target, "isolation_el1_context.py", CPU=cpu)
    assert out["a_first"]["TPIDR_EL1"] == 0x1800 and out["a_first"]["CONTEXTIDR_EL1"] != 0
    assert out["b"] == dict((r, 0) for r in out["b"])           # reset values, not A's
    assert out["a_again"] == out["a_first"]                     # A's own values come back


def test_python_callbacks_keep_running_while_a_guest_runs(target):
    for cpu, during, ms in run_file(target, "isolation_callbacks.py", MS=300):
        assert ms >= 300
        assert during >= 0.8 * ms, (cpu, during, ms)             # a 1 kHz timer, on the same clock


def test_vcpu_slots_come_back_without_an_explicit_collection(target):
    assert run_file(target, "isolation_slots.py", N=40) == (40, 40)


@pytest.mark.parametrize("ms,exc", [
    (295147905179353, "ValueError"),    # timed out after 1 ms before
    (2 ** 62, "ValueError"),            # meant no timeout at all before
    (2 ** 64, "OverflowError"),
    (0, "ValueError"),
    (-5, "ValueError"),
])
def test_timeout_ms_is_range_checked(target, ms, exc):
    with pytest.raises(TargetError) as e:
        target.exec("import pcpu, vcpu\npcpu.Aarch64PerCpu.new(0).hardware_enable()\n"
                    "vcpu.Aarch64VCpu(vcpu.code(vcpu.A64.hvc(0))).run(timeout_ms=%d)" % ms)
    assert e.value.type == exc
    out = target.exec("import vcpu\nprint(vcpu.Aarch64VCpu(vcpu.code(vcpu.A64.hvc(0))).run(timeout_ms=2**31 - 1).ec_name)")
    assert out.strip() == "HVC64"


def test_an_irq_handler_callback_says_how_many_interrupts_it_stands_for(target):
    total, through, calls = run_file(target, "isolation_irq_count.py", CPU=1, HZ=5000)
    assert through >= 20             # 5 kHz for 200 ms: about 1,000 on an idle machine
    assert total == through          # every interrupt accounted for, however coalesced
    assert 1 <= calls <= through


FRESH_EXPECTED = {"SCTLR_EL1": sysregs.RES1["SCTLR_EL1"]}
TIMER_CTL_OWN_BITS = sysregs.mask("CNTP_CTL_EL0", "ENABLE", "IMASK")


@pytest.mark.parametrize("kind", ["random", "sysreg"])
def test_a_thousand_misbehaving_guests_leave_the_host_as_it_was(target, kind):
    out = run_file(target, "random_guests.py", timeout=600, COUNT=1000, KIND=kind, SEED=14)
    assert out["guests"] == 2000
    assert out["fp_ok"] and out["firmware_same"], out
    assert out["heap_growth"] <= 1024, out
    names = ("TPIDR_EL1", "TPIDR_EL0", "TTBR0_EL1", "CONTEXTIDR_EL1", "VBAR_EL1", "CPACR_EL1",
             "CNTP_CTL_EL0", "CNTV_CTL_EL0", "SCTLR_EL1")
    for values in out["fresh"]:
        seen = dict(zip(names, values))
        for timer in ("CNTP_CTL_EL0", "CNTV_CTL_EL0"):
            seen[timer] &= TIMER_CTL_OWN_BITS        # ISTATUS is the counter's, not state
        assert seen == dict((n, FRESH_EXPECTED.get(n, 0)) for n in names)
    assert target.eval("6 * 7") == 42
