# Per-CPU hypervisor state: Aarch64PerCpu and its per-CPU variables.
#
# Behaves as the reference (arm_vcpu's src/pcpu.rs) does, and fixes its known
# weaknesses (see README, "pcpu and the reference"):
#   1. enable on an enabled CPU, or disable on a disabled one, changes nothing;
#   2. disable restores the exact HCR_EL2 saved at enable;
#   3. every access names its CPU: a bad or offline cpu_id is an error;
#   4. an enable that fails part-way leaves the CPU exactly as before.
import aarch64
import pcpu_status
import sysregs

_read = aarch64.read_sysreg
_write = aarch64.write_sysreg
_VCPU_VECTORS = aarch64.VCPU_VECTORS
_VM = 1 << 0
_ENABLE = 0x8008_0019       # VM | FMO | IMO | TSC | RW (HCR_EL2.ENABLE)


class AxError(Exception):
    """An error with a kind, as the reference's axerrno::AxError."""

    BadState = "BadState"
    InvalidInput = "InvalidInput"
    Unsupported = "Unsupported"
    AlreadyExists = "AlreadyExists"

    def __init__(self, kind, message):
        super().__init__("%s: %s" % (kind, message))
        self.kind = kind


class HCR_EL2:
    """HCR_EL2's fields (from the shared register table) and the enable set."""

    FIELDS = sysregs.HCR_EL2_FIELDS
    VM = 1 << 0
    FMO = 1 << 3
    IMO = 1 << 4
    TSC = 1 << 19
    RW = 1 << 31
    # What hardware_enable() sets: VM, RW (EL1 is AArch64), IMO, FMO, TSC.
    ENABLE = VM | RW | IMO | FMO | TSC
    assert ENABLE == _ENABLE

    @staticmethod
    def decode(value):
        """[(field, value), ...]; single-bit fields only when set."""
        return sysregs.decode("HCR_EL2", value)

    @staticmethod
    def names(value):
        return sysregs.format_fields("HCR_EL2", value)


class PerCpuVar(list):
    """A per-CPU variable: one slot per possible CPU, indexed by CPU id."""

    def __init__(self, name, initial):
        super().__init__([initial] * MAX_CPUS)
        self.name = name

    def __repr__(self):
        return "<per-CPU %s %r>" % (self.name, list(self))


class PerCpuOnceCell:
    """IRQ_HANDLER: per-CPU slots set once, kept by the firmware (the vCPU
    vectors read them on every IRQ). set() returns False if already set."""

    name = "IRQ_HANDLER"

    def get(self, cpu_id):
        return aarch64.get_irq_handler(cpu_id)

    def set(self, cpu_id, handler):
        return aarch64.set_irq_handler(handler, cpu_id)

    def __getitem__(self, cpu_id):
        return self.get(cpu_id)

    def __repr__(self):
        return "<per-CPU IRQ_HANDLER %r>" % [self.get(c) for c in range(aarch64.cpu_count())]


MAX_CPUS = 8
ORI_EXCEPTION_VECTOR_BASE = PerCpuVar("ORI_EXCEPTION_VECTOR_BASE", 0)
IRQ_HANDLER = PerCpuOnceCell()
# The whole HCR_EL2 as it was before enable, so disable can put it back.
_ORI_HCR_EL2 = PerCpuVar("ORI_HCR_EL2", 0)


class AxVCpuHal:
    """The hardware abstraction: irq_handler() is the host OS's IRQ handler.
    The default is the firmware's own (aarch64.HOST_IRQ_HANDLER); a Python
    callable is also accepted: the host handler services the IRQ, then the
    callable is scheduled with the CPU id."""

    def irq_handler(self):
        return aarch64.HOST_IRQ_HANDLER

    def irq_hanlder(self):
        # The reference's spelling, so a HAL written against it works.
        return self.irq_handler()


def _hal_irq_handler(hal):
    if isinstance(hal, type):
        hal = hal()
    spelled = getattr(hal, "irq_handler", None)
    misspelled = getattr(hal, "irq_hanlder", None)
    if isinstance(hal, AxVCpuHal) and type(hal).irq_handler is AxVCpuHal.irq_handler:
        spelled = None  # only the reference's spelling may be overridden
    fn = spelled or misspelled
    if fn is None:
        raise AxError(AxError.InvalidInput, "HAL %r has no irq_handler()" % (hal,))
    handler = fn()
    if isinstance(handler, aarch64.IrqHandler):
        return handler
    if callable(handler):
        return aarch64.IrqHandler(handler)
    raise AxError(AxError.InvalidInput, "irq_handler() returned %r, not a handler" % (handler,))


def _check_cpu(cpu_id):
    if type(cpu_id) is not int:
        raise AxError(AxError.InvalidInput, "cpu_id must be an int, not %s" % type(cpu_id).__name__)
    n = aarch64.cpu_count()
    if not 0 <= cpu_id < n:
        raise AxError(AxError.InvalidInput, "CPU %d is not online (CPUs 0..%d)" % (cpu_id, n - 1))


def _check_el2():
    if aarch64.current_el() != 2:
        raise AxError(AxError.Unsupported, "not running at EL2")


class AxArchPerCpu:
    """The protocol every architecture's per-CPU state implements."""

    @classmethod
    def new(cls, cpu_id):
        raise NotImplementedError

    def is_enabled(self):
        raise NotImplementedError

    def hardware_enable(self):
        raise NotImplementedError

    def hardware_disable(self):
        raise NotImplementedError


class Aarch64PerCpu(AxArchPerCpu):
    """Virtualization control of one physical CPU."""

    def __init__(self, cpu_id):
        _check_cpu(cpu_id)
        self.cpu_id = cpu_id

    @classmethod
    def new(cls, cpu_id, hal=None):
        """Register the HAL's IRQ handler in this CPU's IRQ_HANDLER (a second
        registration keeps the first, as the reference does)."""
        _check_cpu(cpu_id)
        _check_el2()
        IRQ_HANDLER.set(cpu_id, _hal_irq_handler(hal if hal is not None else AxVCpuHal()))
        return cls(cpu_id)

    def __repr__(self):
        return "<Aarch64PerCpu cpu_id=%d %s>" % (self.cpu_id, "enabled" if self.is_enabled() else "disabled")

    def is_enabled(self):
        return bool(_read("HCR_EL2", self.cpu_id) & _VM)

    def hardware_enable(self):
        cpu = self.cpu_id
        hcr = _read("HCR_EL2", cpu)
        if hcr & _VM:
            return      # already enabled: the saved host vectors stay
        vbar = _read("VBAR_EL2", cpu)
        try:
            _write("VBAR_EL2", _VCPU_VECTORS, cpu)
            _write("HCR_EL2", hcr | _ENABLE, cpu)
        except Exception as e:
            _rollback(cpu, vbar, hcr)
            raise AxError(AxError.BadState, "enable failed on CPU %d (rolled back): %s" % (cpu, e))
        ORI_EXCEPTION_VECTOR_BASE[cpu] = vbar
        _ORI_HCR_EL2[cpu] = hcr

    def hardware_disable(self):
        cpu = self.cpu_id
        if not _read("HCR_EL2", cpu) & _VM:
            return      # already disabled
        _write("VBAR_EL2", ORI_EXCEPTION_VECTOR_BASE[cpu], cpu)
        _write("HCR_EL2", _ORI_HCR_EL2[cpu], cpu)


def _rollback(cpu, vbar, hcr):
    for name, value in (("HCR_EL2", hcr), ("VBAR_EL2", vbar)):
        try:
            _write(name, value, cpu)
        except Exception:
            pass


def _vectors_name(vbar):
    if vbar == aarch64.VCPU_VECTORS:
        return "vcpu"
    if vbar == aarch64.HOST_VECTORS:
        return "host"
    return "other"


class Status:
    """pcpu.status(): `rows` is plain data (one dict per CPU); the repr is a table."""

    def __init__(self, rows):
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def __repr__(self):
        return pcpu_status.format_table(self.rows)


def status():
    rows = []
    for cpu in range(aarch64.cpu_count()):
        vbar = _read("VBAR_EL2", cpu)
        hcr = _read("HCR_EL2", cpu)
        through_handler, total, no_handler, timer_ticks = aarch64.irq_counts(cpu)
        rows.append({
            "cpu_id": cpu,
            "enabled": bool(hcr & HCR_EL2.VM),
            "vbar_el2": vbar,
            "vectors": _vectors_name(vbar),
            "ori_exception_vector_base": ORI_EXCEPTION_VECTOR_BASE[cpu],
            "hcr_el2": hcr,
            "hcr_fields": [name for name, v in HCR_EL2.decode(hcr) if v],
            "irq_handler": aarch64.get_irq_handler(cpu) is not None,
            "irq_count": through_handler,
            "irq_total": total,
            "irq_no_handler": no_handler,
            "timer_ticks": timer_ticks,
        })
    return Status(rows)
