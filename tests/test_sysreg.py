"""The aarch64 module: registers by name and encoding, guarded faults, bad
input, the two vector tables, interrupts."""
import pytest

from host_tools import TargetError
from host_tools.target import sysregs

GICV3_ONLY = ("ICH_HCR_EL2", "ICC_SRE_EL2")


def test_every_named_register_reads(target):
    names = sorted(n for n in sysregs.REGISTERS if n not in GICV3_ONLY)
    values = eval(target.exec("import aarch64\nprint(repr([aarch64.read_sysreg(n) for n in %r]))" % names))
    assert all(isinstance(v, int) and 0 <= v < 2**64 for v in values)
    values = dict(zip(names, values))
    assert values["CurrentEL"] == 2 << 2
    assert values["HCR_EL2"] == 0x38           # IMO, FMO, AMO: IRQs reach EL2
    assert values["CNTFRQ_EL0"] > 0


@pytest.mark.parametrize("name", GICV3_ONLY)
def test_gicv3_register_on_gicv2_faults_with_esr(target, name):
    code = ("import aarch64\n"
            "try:\n aarch64.read_sysreg(%r)\n"
            "except aarch64.Fault as e:\n print(repr((e.errno, e.esr, isinstance(e, OSError))))\n" % name)
    errno, esr, is_oserror = eval(target.exec(code))
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
    out = target.exec(
        "import machine\n"
        "try:\n machine.mem8[0x10_0000_0000]\n"
        "except OSError as e:\n print(e.errno, hex(e.esr >> 26))\n")
    assert out.split() == ["14", "0x25"]


def test_vector_addresses_match_the_elf(target, firmware):
    vcpu = target.eval("__import__('aarch64').VCPU_VECTORS")
    host = target.eval("__import__('aarch64').HOST_VECTORS")
    assert vcpu == firmware.symbol("exception_vector_base_vcpu")
    assert host == firmware.symbol("host_exception_vectors")
    assert vcpu % 0x800 == 0 and host % 0x800 == 0


TIMER_COUNT = """
import machine, time
n = 0
def tick(t):
    global n
    n += 1
t = machine.Timer(period=10, callback=tick)
time.sleep_ms(500)
t.deinit()
print(n)
"""


def test_machine_timer_callbacks_over_half_a_second(target):
    assert 40 <= int(target.exec(TIMER_COUNT)) <= 60


def test_irqs_work_through_irq_handler_on_the_vcpu_vectors(target):
    target.exec("import aarch64\n"
                "aarch64.set_irq_handler(aarch64.HOST_IRQ_HANDLER)\n"
                "aarch64.write_sysreg('VBAR_EL2', aarch64.VCPU_VECTORS)")
    before = target.call("aarch64.irq_counts")[0]
    # Each exec is typed into the UART: its RX interrupts now go through IRQ_HANDLER.
    assert 40 <= int(target.exec(TIMER_COUNT)) <= 60
    assert target.eval("6 * 7") == 42
    assert target.call("aarch64.irq_counts")[0] - before >= 50
    target.exec("import aarch64\naarch64.write_sysreg('VBAR_EL2', aarch64.HOST_VECTORS)")
    through_handler = target.call("aarch64.irq_counts")[0]
    assert 40 <= int(target.exec(TIMER_COUNT)) <= 60
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
    out = target.exec("import aarch64\n"
                      "print(aarch64.set_irq_handler(aarch64.HOST_IRQ_HANDLER),"
                      " aarch64.set_irq_handler(aarch64.IrqHandler(print)),"
                      " aarch64.get_irq_handler() is aarch64.HOST_IRQ_HANDLER)")
    assert out.split() == ["True", "False", "True"]


def test_irq_with_no_handler_is_counted_and_the_firmware_lives(target):
    out = target.exec("import aarch64, time\n"
                      "aarch64.write_sysreg('VBAR_EL2', aarch64.VCPU_VECTORS, cpu=1)\n"
                      "aarch64.cpu_timer(1, 200)\n"
                      "time.sleep_ms(100)\n"
                      "aarch64.cpu_timer(1, 0)\n"
                      "print(aarch64.irq_counts(1))")
    assert "no IRQ_HANDLER" in out
    through, total, no_handler, ticks = eval(out.strip().splitlines()[-1])
    assert through == 0 and no_handler >= 10 and ticks >= 10
    assert target.eval("6 * 7") == 42


def test_python_irq_callback_runs_on_cpu0_for_an_irq_on_cpu3(target):
    out = target.exec("import aarch64, time\n"
                      "seen = []\n"
                      "aarch64.set_irq_handler(aarch64.IrqHandler(lambda cpu, n: seen.append((cpu, aarch64.cpu_id()))), 3)\n"
                      "aarch64.write_sysreg('VBAR_EL2', aarch64.VCPU_VECTORS, cpu=3)\n"
                      "aarch64.cpu_timer(3, 100)\n"
                      "time.sleep_ms(100)\n"
                      "aarch64.cpu_timer(3, 0)\n"
                      "print(len(seen) >= 5, set(seen))")
    assert out.strip() == "True {(3, 0)}"
