"""pcpu on the target, against the real registers."""
import pytest

from host_tools import TargetError

ENABLE = 0x8008_0019
VM = 1
TWI = 1 << 13


def regs(t, cpu=0):
    return t.read_sysreg("VBAR_EL2", cpu), t.read_sysreg("HCR_EL2", cpu)


def test_enable_installs_the_vcpu_vectors_and_sets_the_enable_bits(target, firmware):
    host_vectors = firmware.symbol("host_exception_vectors")
    target.exec("import pcpu\np = pcpu.Aarch64PerCpu.new(0)")
    assert target.eval("p.is_enabled()") is False
    vbar0, hcr0 = regs(target)
    assert vbar0 == host_vectors
    target.exec("p.hardware_enable()")
    vbar1, hcr1 = regs(target)
    assert vbar1 == firmware.symbol("exception_vector_base_vcpu")
    assert hcr1 == hcr0 | ENABLE
    assert target.eval("p.is_enabled()") is True
    assert target.eval("pcpu.ORI_EXCEPTION_VECTOR_BASE[0]") == host_vectors


def test_second_enable_keeps_the_saved_host_vectors(target, firmware):
    target.exec("import pcpu\np = pcpu.Aarch64PerCpu.new(0)\np.hardware_enable()\np.hardware_enable()")
    assert target.eval("pcpu.ORI_EXCEPTION_VECTOR_BASE[0]") == firmware.symbol("host_exception_vectors")
    target.exec("p.hardware_disable()")
    assert regs(target)[0] == firmware.symbol("host_exception_vectors")


def test_disable_restores_both_registers_exactly(target):
    target.exec("import pcpu\np = pcpu.Aarch64PerCpu.new(0)")
    before = regs(target)
    target.exec("p.hardware_enable()\np.hardware_disable()")
    assert regs(target) == before
    assert target.eval("p.is_enabled()") is False
    target.exec("p.hardware_disable()")     # disabled already: changes nothing
    assert regs(target) == before


def test_a_host_set_bit_survives_enable_and_disable(target):
    target.exec("import aarch64, pcpu\n"
                "aarch64.write_sysreg('HCR_EL2', aarch64.read_sysreg('HCR_EL2') | %d)\n"
                "p = pcpu.Aarch64PerCpu.new(0)" % TWI)
    hcr = target.read_sysreg("HCR_EL2")
    assert hcr & TWI
    target.exec("p.hardware_enable()")
    assert target.read_sysreg("HCR_EL2") == hcr | ENABLE
    target.exec("p.hardware_disable()")
    assert target.read_sysreg("HCR_EL2") == hcr


def test_irqs_keep_working_while_enabled_and_go_through_irq_handler(target):
    target.exec("import pcpu, aarch64\np = pcpu.Aarch64PerCpu.new(0)\np.hardware_enable()")
    before = target.eval("pcpu.status()[0]['irq_count']")
    out = target.exec("import machine, time\n"
                      "n = 0\n"
                      "def tick(t):\n global n\n n += 1\n"
                      "t = machine.Timer(period=10, callback=tick)\n"
                      "time.sleep_ms(300)\nt.deinit()\nprint(n)")
    assert 24 <= int(out) <= 36
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
    target.exec("import pcpu\nfor c in range(4): pcpu.Aarch64PerCpu.new(c)\npcpu.Aarch64PerCpu.new(1).hardware_enable()")
    rows = target.eval("pcpu.status().rows")
    assert [r["cpu_id"] for r in rows] == [0, 1, 2, 3]
    assert [r["enabled"] for r in rows] == [False, True, False, False]
    assert rows[1]["vectors"] == "vcpu" and rows[0]["vectors"] == "host"
    assert set(rows[1]["hcr_fields"]) >= {"VM", "RW", "IMO", "FMO", "TSC"}
    assert all(r["irq_handler"] for r in rows)
    table = target.exec("print(repr(pcpu.status()))")
    assert table.splitlines()[0].split()[:3] == ["CPU", "enabled", "VBAR_EL2"]
    assert "VM FMO IMO AMO TSC RW" in table


def test_hcr_el2_table_and_decoder(target):
    assert target.eval("__import__('pcpu').HCR_EL2.ENABLE") == ENABLE
    assert target.eval("__import__('pcpu').HCR_EL2.decode(0x80080019)") == \
        [("VM", 1), ("FMO", 1), ("IMO", 1), ("TSC", 1), ("RW", 1)]


def test_second_registration_keeps_the_first_handler(target):
    out = target.exec("import pcpu, aarch64\n"
                      "class Hal(pcpu.AxVCpuHal):\n"
                      " def irq_handler(self): return print\n"
                      "pcpu.Aarch64PerCpu.new(0)\n"
                      "pcpu.Aarch64PerCpu.new(0, Hal())\n"
                      "print(pcpu.IRQ_HANDLER.get(0) is aarch64.HOST_IRQ_HANDLER)")
    assert out.strip() == "True"


def test_a_hal_with_the_reference_spelling_works(target):
    out = target.exec("import pcpu, aarch64\n"
                      "class RefHal(pcpu.AxVCpuHal):\n"
                      " def irq_hanlder(self): return aarch64.IrqHandler(lambda cpu, n: None)\n"
                      "pcpu.Aarch64PerCpu.new(2, RefHal)\n"
                      "print(repr(pcpu.IRQ_HANDLER.get(2)))")
    assert out.strip().startswith("<IrqHandler host then <function")


@pytest.mark.parametrize("cpu_id", ["-1", "4", "'1'", "None", "1.0"])
def test_bad_cpu_id_is_invalid_input(target, cpu_id):
    with pytest.raises(TargetError) as e:
        target.exec("import pcpu\npcpu.Aarch64PerCpu.new(%s)" % cpu_id)
    assert e.value.type == "AxError" and e.value.message.startswith("InvalidInput")
    assert target.eval("6 * 7") == 42


def test_failed_enable_rolls_back(target):
    # Make the HCR_EL2 write fail after VBAR_EL2 was written: the CPU must end as before.
    out = target.exec("import pcpu, aarch64\n"
                      "p = pcpu.Aarch64PerCpu.new(0)\n"
                      "before = (aarch64.read_sysreg('VBAR_EL2'), aarch64.read_sysreg('HCR_EL2'))\n"
                      "real = pcpu._write\n"
                      "def failing(name, value, cpu=None):\n"
                      " if name == 'HCR_EL2' and value & 1: raise OSError('injected')\n"
                      " real(name, value, cpu)\n"
                      "pcpu._write = failing\n"
                      "try:\n p.hardware_enable()\n"
                      "except pcpu.AxError as e:\n print(e.kind)\n"
                      "pcpu._write = real\n"
                      "print(before == (aarch64.read_sysreg('VBAR_EL2'), aarch64.read_sysreg('HCR_EL2')), p.is_enabled())")
    assert out.split() == ["BadState", "True", "False"]
