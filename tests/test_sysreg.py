"""The aarch64 module: registers by name and encoding, guarded faults, bad
input, the two vector tables, interrupts. The programs are in tests/target/."""
import pytest

from host_tools import boards
from host_tools.target import sysregs

from conftest import printed_result, run_target_file, target_result
from regs import GICV3_ONLY, HCR_BOOT


def test_every_named_register_reads(target):
    names = sorted(n for n in sysregs.REGISTERS if n not in GICV3_ONLY)
    values = target_result(target, "sysreg_read_all.py")     # every register but GICv3's
    assert sorted(values) == names
    assert all(isinstance(v, int) and 0 <= v < 2**64 for v in values.values())
    assert values["CurrentEL"] == 2 << 2
    assert values["HCR_EL2"] == HCR_BOOT       # IMO, FMO, AMO: IRQs reach EL2
    assert values["CNTFRQ_EL0"] > 0


@pytest.mark.parametrize("name", GICV3_ONLY)
def test_gicv3_register_on_gicv2_faults_with_esr(board, target, name):
    if boards.gic_args(board):
        pytest.skip("EL2_QEMU_GIC asks for another GIC than the board's GICv2 (test_gicv3.py reads these)")
    errno, esr, is_oserror = target_result(target, "sysreg_fault.py", NAME=name)
    assert errno == 14 and is_oserror
    assert (esr >> 26) == 0x00      # EC UNKNOWN: the encoding is not implemented
    assert target.eval("1 + 1") == 2


def test_read_by_encoding_equals_read_by_name(target):
    for name in ("HCR_EL2", "VBAR_EL2", "MIDR_EL1", "CNTFRQ_EL0"):
        enc = sysregs.REGISTERS[name][:5]
        assert target.read_sysreg(enc) == target.read_sysreg(name), name


def test_write_then_read_back(target):
    target.write_sysreg("TPIDR_EL2", 0xDEADBEEF_12345678)
    assert target.read_sysreg("TPIDR_EL2") == 0xDEADBEEF_12345678
    target.write_sysreg((3, 4, 13, 0, 2), 2**64 - 1)
    assert target.read_sysreg("TPIDR_EL2") == 2**64 - 1


def test_midr_is_a_cortex_a72(target):
    midr = target.read_sysreg("MIDR_EL1")
    assert (midr >> 24) == 0x41 and ((midr >> 4) & 0xFFF) == 0xD08


def test_unmapped_read_is_an_oserror_with_efault(target):
    errno, esr = target_result(target, "mem_unmapped_read.py", ADDRESS=0x10_0000_0000)
    assert (errno, hex(esr >> 26)) == (14, "0x25")


def test_vector_addresses_match_the_elf(target, firmware):
    vcpu = target.eval("__import__('aarch64').VCPU_VECTORS")
    host = target.eval("__import__('aarch64').HOST_VECTORS")
    assert vcpu == firmware.symbol("exception_vector_base_vcpu")
    assert host == firmware.symbol("host_exception_vectors")
    assert vcpu % 0x800 == 0 and host % 0x800 == 0


def timer_count(target):
    """machine.Timer callbacks every 10 ms over half a second."""
    return target_result(target, "timer_count.py", PERIOD_MS=10, DURATION_MS=500)


def test_machine_timer_callbacks_over_half_a_second(target):
    assert 40 <= timer_count(target) <= 60


def test_irqs_work_through_irq_handler_on_the_vcpu_vectors(target, firmware):
    assert target_result(target, "use_vectors.py", CPU=0, VECTORS="vcpu") == firmware.symbol("exception_vector_base_vcpu")
    before = target.call("aarch64.irq_counts")[0]
    # Each exec is typed into the UART: its RX interrupts now go through IRQ_HANDLER.
    assert 40 <= timer_count(target) <= 60
    assert target.eval("6 * 7") == 42
    assert target.call("aarch64.irq_counts")[0] - before >= 50
    assert target_result(target, "use_vectors.py", CPU=0, VECTORS="host") == firmware.symbol("host_exception_vectors")
    through_handler = target.call("aarch64.irq_counts")[0]
    assert 40 <= timer_count(target) <= 60
    assert target.call("aarch64.irq_counts")[0] == through_handler   # host vectors: not through it


def test_ctrl_c_through_irq_handler(console):
    console.send("import aarch64\r")
    console.expect(">>> ")
    console.send("aarch64.set_irq_handler(aarch64.HOST_IRQ_HANDLER); aarch64.write_sysreg('VBAR_EL2', aarch64.VCPU_VECTORS)\r")
    console.expect(">>> ")
    console.send("while True: pass\r\r")
    console.expect("... \r\n")
    console.send("\x03")
    assert "KeyboardInterrupt" in console.expect(">>> ")
    console.send("print(aarch64.irq_counts()[0] > 0, aarch64.read_sysreg('VBAR_EL2') == aarch64.VCPU_VECTORS)\r")
    assert "True True" in console.expect(">>> ")


def test_irq_handler_is_set_once(target):
    assert target_result(target, "irq_handler_set_once.py") == (True, False, True)


def test_irq_with_no_handler_is_counted_and_the_firmware_lives(target):
    out = run_target_file(target, "irq_no_handler.py", CPU=1)
    assert "no IRQ_HANDLER" in out
    through, total, no_handler, ticks = printed_result(out)
    assert through == 0 and no_handler >= 10 and ticks >= 10
    assert target.eval("6 * 7") == 42


def test_python_irq_callback_runs_on_cpu0_for_an_irq_on_cpu3(target):
    callbacks, where = target_result(target, "irq_callback_cpu.py", CPU=3)
    assert callbacks >= 5 and where == [(3, 0)]
