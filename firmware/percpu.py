# Per-CPU variables, as the reference's percpu crate gives them: one slot per
# possible CPU, indexed by CPU id; and the check every per-CPU API makes of a
# CPU id.
import aarch64
from axerrno import AxError

MAX_CPUS = aarch64.MAX_CPUS


def check_cpu_id(cpu_id):
    """AxError(InvalidInput) unless cpu_id is the id of an online CPU."""
    if type(cpu_id) is not int:
        raise AxError(AxError.InvalidInput, "cpu_id must be an int, not %s" % type(cpu_id).__name__)
    n = aarch64.cpu_count()
    if not 0 <= cpu_id < n:
        raise AxError(AxError.InvalidInput, "CPU %d is not online (CPUs 0..%d)" % (cpu_id, n - 1))


class PerCpuVar(list):
    """A per-CPU variable: one slot per possible CPU, indexed by CPU id."""

    def __init__(self, name, initial):
        super().__init__([initial] * MAX_CPUS)
        self.name = name

    def __repr__(self):
        return "<per-CPU %s %r>" % (self.name, list(self))


class PerCpuOnceCell:
    """A per-CPU cell set once, kept by the firmware itself (IRQ_HANDLER: the
    vCPU vectors read it on every IRQ). set() returns False if already set."""

    def __init__(self, name):
        self.name = name

    def get(self, cpu_id):
        return aarch64.get_irq_handler(cpu_id)

    def set(self, cpu_id, handler):
        return aarch64.set_irq_handler(handler, cpu_id)

    def __getitem__(self, cpu_id):
        return self.get(cpu_id)

    def __repr__(self):
        return "<per-CPU %s %r>" % (self.name, [self.get(c) for c in range(aarch64.cpu_count())])
