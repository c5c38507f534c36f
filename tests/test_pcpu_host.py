"""pcpu.py in CPython against a simulated register file: the semantics in
milliseconds, beside the on-target tests that prove them on real registers."""
import importlib
import sys
import types

import pytest

from host_tools.target import sysregs

HOST_VECTORS, VCPU_VECTORS = 0x4000_0800, 0x4000_2000
BOOT_HCR = 0x38


class FakeAarch64(types.ModuleType):
    def __init__(self, cpus=4):
        super().__init__("aarch64")
        self.regs = [{"VBAR_EL2": HOST_VECTORS, "HCR_EL2": BOOT_HCR} for _ in range(cpus)]
        self.handlers = [None] * cpus
        self.HOST_VECTORS, self.VCPU_VECTORS = HOST_VECTORS, VCPU_VECTORS
        self.fail_write = None
        outer = self

        class IrqHandler:
            def __init__(self, cb):
                self.callback = cb
        self.IrqHandler = IrqHandler
        self.HOST_IRQ_HANDLER = IrqHandler(None)

        def read_sysreg(name, cpu=None):
            return outer.regs[cpu or 0][name]

        def write_sysreg(name, value, cpu=None):
            if outer.fail_write and outer.fail_write(name, value):
                raise OSError("injected")
            outer.regs[cpu or 0][name] = value

        def set_irq_handler(h, cpu=None):
            if outer.handlers[cpu or 0] is not None:
                return False
            outer.handlers[cpu or 0] = h
            return True

        self.read_sysreg, self.write_sysreg, self.set_irq_handler = read_sysreg, write_sysreg, set_irq_handler
        self.get_irq_handler = lambda cpu=None: outer.handlers[cpu or 0]
        self.cpu_count = lambda: cpus
        self.current_el = lambda: 2
        self.irq_counts = lambda cpu=None: (0, 0, 0, 0)


@pytest.fixture
def pcpu(monkeypatch):
    fake = FakeAarch64()
    monkeypatch.setitem(sys.modules, "aarch64", fake)
    monkeypatch.setitem(sys.modules, "sysregs", sysregs)
    monkeypatch.setitem(sys.modules, "pcpu_status", importlib.import_module("host_tools.target.pcpu_status"))
    monkeypatch.delitem(sys.modules, "host_tools.target.pcpu", raising=False)
    module = importlib.import_module("host_tools.target.pcpu")
    module.fake = fake
    return module


def test_enable_disable_cycle(pcpu):
    p = pcpu.Aarch64PerCpu.new(2)
    p.hardware_enable()
    assert pcpu.fake.regs[2] == {"VBAR_EL2": VCPU_VECTORS, "HCR_EL2": BOOT_HCR | 0x8008_0019}
    assert pcpu.fake.regs[1] == {"VBAR_EL2": HOST_VECTORS, "HCR_EL2": BOOT_HCR}
    assert pcpu.ORI_EXCEPTION_VECTOR_BASE[2] == HOST_VECTORS
    p.hardware_enable()
    assert pcpu.ORI_EXCEPTION_VECTOR_BASE[2] == HOST_VECTORS
    p.hardware_disable()
    assert pcpu.fake.regs[2] == {"VBAR_EL2": HOST_VECTORS, "HCR_EL2": BOOT_HCR}


def test_rollback_when_the_hcr_write_fails(pcpu):
    p = pcpu.Aarch64PerCpu.new(0)
    pcpu.fake.fail_write = lambda name, value: name == "HCR_EL2" and value & 1
    with pytest.raises(pcpu.AxError) as e:
        p.hardware_enable()
    assert e.value.kind == "BadState"
    assert pcpu.fake.regs[0] == {"VBAR_EL2": HOST_VECTORS, "HCR_EL2": BOOT_HCR}
    assert pcpu.ORI_EXCEPTION_VECTOR_BASE[0] == 0


def test_handler_registration_is_once(pcpu):
    pcpu.Aarch64PerCpu.new(1)
    first = pcpu.IRQ_HANDLER.get(1)
    pcpu.Aarch64PerCpu.new(1, hal=types.SimpleNamespace(irq_handler=lambda: print))
    assert pcpu.IRQ_HANDLER.get(1) is first is pcpu.fake.HOST_IRQ_HANDLER


def test_bad_cpu_ids(pcpu):
    for bad in (-1, 4, "0", None, 1.5):
        with pytest.raises(pcpu.AxError) as e:
            pcpu.Aarch64PerCpu.new(bad)
        assert e.value.kind == "InvalidInput"


def test_hcr_decode_uses_the_shared_table(pcpu):
    assert pcpu.HCR_EL2.FIELDS is sysregs.HCR_EL2_FIELDS
    assert [n for n, _ in pcpu.HCR_EL2.decode(0x8008_0019)] == ["VM", "FMO", "IMO", "TSC", "RW"]
