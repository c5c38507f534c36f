"""Every CPU takes part: bring-up, cross-calls, per-CPU state and IRQs."""
import pytest

from host_tools import TargetError

ENABLE = 0x8008_0019


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_cpu_count_matches_smp_and_each_cpu_has_its_mpidr(boot, board, smp):
    if board == "RPI4" and smp != 4:
        pytest.skip("the Pi 4 (and QEMU raspi4b) always has 4 cores")
    t = boot(smp=smp)
    assert t.cpu_count() == smp
    mpidrs = [t.read_sysreg("MPIDR_EL1", cpu=c) for c in range(smp)]
    assert [m & 0xFF for m in mpidrs] == list(range(smp))
    rows = t.pcpu_status()
    assert [r["cpu_id"] for r in rows] == list(range(smp))
    if smp < 4:
        with pytest.raises(TargetError) as e:
            t.read_sysreg("HCR_EL2", cpu=smp)
        assert e.value.type == "ValueError" and "not online" in e.value.message
        with pytest.raises(TargetError) as e:
            t.exec("import pcpu\npcpu.Aarch64PerCpu.new(%d)" % smp)
        assert e.value.type == "AxError" and "InvalidInput" in e.value.message


def test_every_cpu_has_its_own_vectors_and_stack(target, firmware):
    host = firmware.symbol("host_exception_vectors")
    assert [target.read_sysreg("VBAR_EL2", cpu=c) for c in range(4)] == [host] * 4
    # CPTR_EL2.TFP clear: FP/SIMD does not trap on any CPU.
    assert all(not target.read_sysreg("CPTR_EL2", cpu=c) & (1 << 10) for c in range(4))


def test_enable_cpu2_only(target, firmware):
    before = [(target.read_sysreg("VBAR_EL2", c), target.read_sysreg("HCR_EL2", c)) for c in range(4)]
    target.exec("import pcpu\npcpu.Aarch64PerCpu.new(2).hardware_enable()")
    after = [(target.read_sysreg("VBAR_EL2", c), target.read_sysreg("HCR_EL2", c)) for c in range(4)]
    assert after[2] == (firmware.symbol("exception_vector_base_vcpu"), before[2][1] | ENABLE)
    for c in (0, 1, 3):
        assert after[c] == before[c]


def test_enable_all_disable_all_restores_each_cpu_from_its_own_slot(target):
    # Give each CPU a different host value first, so a mixed-up slot would show.
    target.exec("import aarch64, pcpu\n"
                "for c in range(4): aarch64.write_sysreg('HCR_EL2', 0x38 | (1 << (13 + c)), c)\n"
                "cpus = [pcpu.Aarch64PerCpu.new(c) for c in range(4)]")
    before = [(target.read_sysreg("VBAR_EL2", c), target.read_sysreg("HCR_EL2", c)) for c in range(4)]
    target.exec("for p in cpus: p.hardware_enable()")
    assert all(r["enabled"] and r["vectors"] == "vcpu" for r in target.pcpu_status())
    target.exec("for p in cpus: p.hardware_disable()")
    after = [(target.read_sysreg("VBAR_EL2", c), target.read_sysreg("HCR_EL2", c)) for c in range(4)]
    assert after == before


def test_timer_irq_on_cpu3_goes_through_cpu3s_irq_handler_only(target):
    out = target.exec("import aarch64, pcpu, time\n"
                      "cpus = [pcpu.Aarch64PerCpu.new(c) for c in range(4)]\n"
                      "cpus[3].hardware_enable()\n"
                      "before = [aarch64.irq_counts(c)[0] for c in range(1, 4)]\n"
                      "aarch64.cpu_timer(3, 1000)\n"
                      "time.sleep_ms(100)\n"
                      "aarch64.cpu_timer(3, 0)\n"
                      "after = [aarch64.irq_counts(c)[0] for c in range(1, 4)]\n"
                      "print(repr([a - b for a, b in zip(after, before)]))")
    d1, d2, d3 = eval(out)
    assert d1 == 0 and d2 == 0
    assert 80 <= d3 <= 130     # 1 kHz for 100 ms, plus the cross-call SGIs


def test_a_cpu_that_does_not_answer_times_out_and_nothing_changes(target):
    hcr = target.read_sysreg("HCR_EL2", cpu=1)
    out = target.exec("import aarch64, time\n"
                      "aarch64.stall_cpu(1, 400)\n"
                      "try:\n aarch64.write_sysreg('HCR_EL2', 0x38 | (1 << 13), cpu=1)\n"
                      "except OSError as e:\n print(e.errno)\n"
                      "time.sleep_ms(500)")
    assert out.strip() == "110"      # ETIMEDOUT
    assert target.read_sysreg("HCR_EL2", cpu=1) == hcr


def test_a_1khz_timer_loses_no_period_while_a_cross_call_waits(target):
    # CPU 0 runs Python callbacks and cannot while it waits in C for a slow
    # CPU; the timer counts the periods meanwhile and its next callback says
    # how many it stands for (Timer.periods()), so none is lost.
    out = target.exec("import aarch64, machine, time\n"
                      "n = 0\n"
                      "def tick(t):\n global n\n n += t.periods()\n"
                      "tm = machine.Timer(period=1, callback=tick)\n"
                      "time.sleep_ms(20)\n"
                      "n0, t0 = n, time.ticks_ms()\n"
                      "aarch64.stall_cpu(1, 80)\n"
                      "aarch64.read_sysreg('MPIDR_EL1', cpu=1)\n"
                      "waited = time.ticks_diff(time.ticks_ms(), t0)\n"
                      "time.sleep_ms(5)\n"
                      "ticks, ms = n - n0, time.ticks_diff(time.ticks_ms(), t0)\n"
                      "tm.deinit()\n"
                      "print(waited, ticks, ms)")
    waited, ticks, ms = map(int, out.split())
    assert waited >= 70                  # the read did wait for the stalled CPU
    assert ms - 2 <= ticks <= ms + 2
