"""pcpu on the target, against the real registers. The programs are
tests/target/pcpu_*.py."""
from collections import namedtuple

import pytest

from host_tools import TargetError

from conftest import run_target_file, target_result
from regs import HCR_ENABLE, HCR_TWI


# A CPU's state as pcpu_steps.py prints it, after new() and after each step.
State = namedtuple("State", "vbar hcr enabled saved_vbar")


def steps(target, *names):
    """Aarch64PerCpu.new(0) then hardware_<name>() for each name: the states."""
    return [State(*s) for s in target_result(target, "pcpu_steps.py", CPU=0, STEPS=names)]


def test_enable_installs_the_vcpu_vectors_and_sets_the_enable_bits(target, firmware):
    host_vectors = firmware.symbol("host_exception_vectors")
    new, enabled = steps(target, "enable")
    assert new.enabled is False
    assert new.vbar == host_vectors
    assert enabled.vbar == firmware.symbol("exception_vector_base_vcpu")
    assert enabled.hcr == new.hcr | HCR_ENABLE
    assert enabled.enabled is True
    assert enabled.saved_vbar == host_vectors


def test_second_enable_keeps_the_saved_host_vectors(target, firmware):
    _, _, second, disabled = steps(target, "enable", "enable", "disable")
    assert second.saved_vbar == firmware.symbol("host_exception_vectors")
    assert disabled.vbar == firmware.symbol("host_exception_vectors")


def test_disable_restores_both_registers_exactly(target):
    new, _, disabled, disabled_again = steps(target, "enable", "disable", "disable")
    assert (disabled.vbar, disabled.hcr) == (new.vbar, new.hcr)
    assert disabled.enabled is False
    assert (disabled_again.vbar, disabled_again.hcr) == (new.vbar, new.hcr)    # disabled already: changes nothing


def test_a_host_set_bit_survives_enable_and_disable(target):
    target.write_sysreg("HCR_EL2", target.read_sysreg("HCR_EL2") | HCR_TWI)
    new, enabled, disabled = steps(target, "enable", "disable")
    hcr = new.hcr
    assert hcr & HCR_TWI
    assert enabled.hcr == hcr | HCR_ENABLE
    assert disabled.hcr == hcr


def test_irqs_keep_working_while_enabled_and_go_through_irq_handler(target):
    steps(target, "enable")
    before = target.eval("pcpu.status()[0]['irq_count']")
    assert 24 <= target_result(target, "timer_count.py", PERIOD_MS=10, DURATION_MS=300) <= 36
    row = target.eval("pcpu.status()[0]")
    assert row["enabled"] and row["vectors"] == "vcpu" and row["irq_handler"]
    assert row["irq_count"] - before >= 30       # timer and UART IRQs went through IRQ_HANDLER


def test_ctrl_c_while_enabled(console):
    console.send("import pcpu; pcpu.Aarch64PerCpu.new(0).hardware_enable()\r")
    console.expect(">>> ")
    console.send("while True: pass\r\r")
    console.expect("... \r\n")
    console.send("\x03")
    assert "KeyboardInterrupt" in console.expect(">>> ")


def test_status_is_plain_data_and_a_table(target):
    status = target_result(target, "pcpu_status_rows.py", ENABLED=(1,))
    rows = status["rows"]
    assert [r["cpu_id"] for r in rows] == [0, 1, 2, 3]
    assert [r["enabled"] for r in rows] == [False, True, False, False]
    assert rows[1]["vectors"] == "vcpu" and rows[0]["vectors"] == "host"
    assert set(rows[1]["hcr_fields"]) >= {"VM", "RW", "IMO", "FMO", "TSC"}
    assert all(r["irq_handler"] for r in rows)
    table = status["table"]
    assert table.splitlines()[0].split()[:3] == ["CPU", "enabled", "VBAR_EL2"]
    assert "VM FMO IMO AMO TSC RW" in table


def test_hcr_el2_table_and_decoder(target):
    assert target.eval("__import__('pcpu').HCR_EL2.ENABLE") == HCR_ENABLE
    assert target.eval("__import__('pcpu').HCR_EL2.decode(%d)" % HCR_ENABLE) == \
        [("VM", 1), ("FMO", 1), ("IMO", 1), ("TSC", 1), ("RW", 1)]


def test_second_registration_keeps_the_first_handler(target):
    assert target_result(target, "pcpu_second_registration.py") is True


def test_a_hal_with_the_reference_spelling_works(target):
    assert target_result(target, "pcpu_reference_hal.py").startswith("<IrqHandler host then <function")


@pytest.mark.parametrize("cpu_id", [-1, 4, "1", None, 1.0], ids=repr)
def test_bad_cpu_id_is_invalid_input(target, cpu_id):
    with pytest.raises(TargetError) as e:
        run_target_file(target, "pcpu_new.py", CPU=cpu_id)
    assert e.value.type == "AxError" and e.value.message.startswith("InvalidInput")
    assert target.eval("6 * 7") == 42


def test_failed_enable_rolls_back(target):
    # Make the HCR_EL2 write fail after VBAR_EL2 was written: the CPU must end as before.
    assert target_result(target, "pcpu_failed_enable_rolls_back.py") == ("BadState", True, False)
