"""pcpu.py in CPython against a simulated register file: the semantics in
milliseconds, beside the on-target tests that prove them on real registers."""
import types

import pytest

from host_tools import sim
from host_tools.target import sysregs
from host_tools.sim import HOST_VECTORS, VCPU_VECTORS

from regs import HCR_BOOT, HCR_ENABLE


@pytest.fixture
def pcpu():
    """pcpu.py on host_tools.sim's register file (the plugin's pcpu_sim does the same)."""
    with sim.target_modules() as (fake, import_):
        module = import_("pcpu")
        module.fake = fake
        yield module


def test_enable_disable_cycle(pcpu):
    p = pcpu.Aarch64PerCpu.new(2)
    p.hardware_enable()
    assert pcpu.fake.regs[2] == {"VBAR_EL2": VCPU_VECTORS, "HCR_EL2": HCR_BOOT | HCR_ENABLE}
    assert pcpu.fake.regs[1] == {"VBAR_EL2": HOST_VECTORS, "HCR_EL2": HCR_BOOT}
    assert pcpu.ORI_EXCEPTION_VECTOR_BASE[2] == HOST_VECTORS
    p.hardware_enable()
    assert pcpu.ORI_EXCEPTION_VECTOR_BASE[2] == HOST_VECTORS
    p.hardware_disable()
    assert pcpu.fake.regs[2] == {"VBAR_EL2": HOST_VECTORS, "HCR_EL2": HCR_BOOT}


def test_rollback_when_the_hcr_write_fails(pcpu):
    p = pcpu.Aarch64PerCpu.new(0)
    pcpu.fake.fail_write = lambda name, value: name == "HCR_EL2" and value & 1
    with pytest.raises(pcpu.AxError) as e:
        p.hardware_enable()
    assert e.value.kind == "BadState"
    assert pcpu.fake.regs[0] == {"VBAR_EL2": HOST_VECTORS, "HCR_EL2": HCR_BOOT}
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
    assert [n for n, _ in pcpu.HCR_EL2.decode(HCR_ENABLE)] == ["VM", "FMO", "IMO", "TSC", "RW"]
