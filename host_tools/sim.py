"""The firmware's Python (pcpu, percpu, axvcpu, ...) in CPython against a
simulated register file: tests of its semantics in milliseconds, without a
target.

    from host_tools import sim
    with sim.target_modules(cpus=4) as (aarch64, import_):
        pcpu = import_("pcpu")
        pcpu.Aarch64PerCpu.new(2).hardware_enable()
        assert aarch64.regs[2]["VBAR_EL2"] == aarch64.VCPU_VECTORS

SimAarch64 stands in for the firmware's `aarch64` module: each CPU's
registers are a dict (`regs[cpu]`), as the firmware boots them (VBAR_EL2 at
the host vectors, HCR_EL2 routing IRQ/FIQ/SError to EL2); `fail_write`, a
function (name, value) -> bool, makes chosen writes raise OSError, as a
faulting write on the target would. The pytest plugin offers the same as
the `pcpu_sim` fixture.
"""
import contextlib
import importlib
import os
import sys
import types

from .target import sysregs

# Where the simulation's two vector tables are: any two distinct addresses do.
HOST_VECTORS, VCPU_VECTORS = 0x4000_0800, 0x4000_2000
# HCR_EL2 as the firmware boots: IRQ, FIQ and SError routed to EL2.
HCR_BOOT = sysregs.mask("HCR_EL2", "IMO", "FMO", "AMO")
# The target's own modules, imported by their target names as the firmware does.
TARGET_MODULES = ("axerrno", "axvcpu", "percpu", "pcpu", "pcpu_status")


class SimAarch64(types.ModuleType):
    def __init__(self, cpus=4):
        super().__init__("aarch64")
        self.regs = [{"VBAR_EL2": HOST_VECTORS, "HCR_EL2": HCR_BOOT} for _ in range(cpus)]
        self.handlers = [None] * cpus
        self.HOST_VECTORS, self.VCPU_VECTORS = HOST_VECTORS, VCPU_VECTORS
        self.MAX_CPUS = 8
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


@contextlib.contextmanager
def target_modules(cpus=4):
    """(SimAarch64, import_) for the duration: `import_(name)` imports a
    target module (firmware/NAME.py) afresh, seeing the simulation as
    `aarch64`. sys.modules and sys.path are as before afterwards."""
    fake = SimAarch64(cpus)
    saved = {name: sys.modules.get(name) for name in ("aarch64", "sysregs") + TARGET_MODULES}
    here = os.path.dirname(sysregs.__file__)
    sys.modules["aarch64"], sys.modules["sysregs"] = fake, sysregs
    for name in TARGET_MODULES:
        sys.modules.pop(name, None)
    sys.path.insert(0, here)
    try:
        yield fake, importlib.import_module
    finally:
        sys.path.remove(here)
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
