# Per-CPU hypervisor state: Aarch64PerCpu and its per-CPU variables, as the
# reference's src/pcpu.rs (arm_vcpu), with its known weaknesses fixed (README,
# "pcpu and the reference"):
#   1. enable on an enabled CPU, or disable on a disabled one, changes nothing;
#   2. disable restores the exact HCR_EL2 saved at enable;
#   3. every access names its CPU: a bad or offline cpu_id is an error;
#   4. an enable that fails part-way leaves the CPU exactly as before;
#   5. the host's vectors are never lost: what is saved as the original is
#      the host's table, even if VCPU_VECTORS was in VBAR_EL2 before enable.
# Interrupt routing, two ways (Aarch64PerCpu.new(cpu, routing=...)):
#   "pcpu" (the default, the seed's): hardware_enable() sets VM, RW, IMO,
#       FMO and TSC, as the reference's older pcpu.rs;
#   "vcpu": hardware_enable() sets VM, RW and TSC only, as the newest
#       arm_vcpu pcpu.rs; each vCPU sets its own bits (VM, RW, TSC, IMO,
#       FMO) on entry and puts the host's HCR_EL2 back on exit
#       (port/core/vcpu.c vcpu_run_local). Guests run the same either way.
# (The firmware itself takes its IRQs at EL2: IMO is set from boot on and is
# the firmware's own, so only FMO shows the difference between the two.)
# AxError, the traits and the per-CPU variables live in axerrno, axvcpu and
# percpu, as the reference's crates; the status table in pcpu_status.
import aarch64
import sysregs
from axerrno import AxError
from axvcpu import AxArchPerCpu, AxVCpuHal, hal_irq_handler
from percpu import MAX_CPUS, PerCpuOnceCell, PerCpuVar, check_cpu_id

_read = aarch64.read_sysreg
_write = aarch64.write_sysreg


class HCR_EL2:
    """HCR_EL2's fields (from the shared register table) and the enable set."""

    FIELDS = sysregs.HCR_EL2_FIELDS
    VM = sysregs.mask("HCR_EL2", "VM")
    FMO = sysregs.mask("HCR_EL2", "FMO")
    IMO = sysregs.mask("HCR_EL2", "IMO")
    TSC = sysregs.mask("HCR_EL2", "TSC")
    RW = sysregs.mask("HCR_EL2", "RW")
    # What hardware_enable() sets: VM, RW (EL1 is AArch64), IMO, FMO, TSC.
    ENABLE = VM | RW | IMO | FMO | TSC
    # ... with routing="vcpu": the vCPU sets IMO and FMO itself on entry.
    ENABLE_VCPU = VM | RW | TSC

    @staticmethod
    def decode(value):
        """[(field, value), ...]; single-bit fields only when set."""
        return sysregs.decode("HCR_EL2", value)

    @staticmethod
    def names(value):
        return sysregs.format_fields("HCR_EL2", value)


# The bits as plain module constants: enable/disable run them on every call,
# and a module global is cheaper to look up than a class attribute.
_VM = HCR_EL2.VM
_ENABLE = HCR_EL2.ENABLE
# routing -> the bits hardware_enable() sets
ROUTINGS = {"pcpu": HCR_EL2.ENABLE, "vcpu": HCR_EL2.ENABLE_VCPU}

# The host's VBAR_EL2, saved by hardware_enable() (0: nothing saved).
ORI_EXCEPTION_VECTOR_BASE = PerCpuVar("ORI_EXCEPTION_VECTOR_BASE", 0)
# The host OS's IRQ handler for each CPU, set once (by new()).
IRQ_HANDLER = PerCpuOnceCell("IRQ_HANDLER")
# The whole HCR_EL2 as it was before enable, so disable can put it back (fix 2);
# None: nothing saved (VM was set by hand).
_ORI_HCR_EL2 = PerCpuVar("ORI_HCR_EL2", None)

# The vCPU vector table, in assembly (boot/vectors.S).
exception_vector_base_vcpu = aarch64.VCPU_VECTORS


class Aarch64PerCpu(AxArchPerCpu):
    """Virtualization control of one physical CPU."""

    def __init__(self, cpu_id, routing="pcpu"):
        check_cpu_id(cpu_id)
        if routing not in ROUTINGS:
            raise ValueError("routing must be 'pcpu' (enable sets IMO/FMO) or 'vcpu' (each vCPU sets them on entry), not %r"
                             % (routing,))
        self.cpu_id = cpu_id
        self.routing = routing

    @classmethod
    def new(cls, cpu_id, hal=None, routing="pcpu"):
        """Register the HAL's IRQ handler in this CPU's IRQ_HANDLER (a second
        registration keeps the first, as the reference does). routing:
        "pcpu" (hardware_enable() sets IMO/FMO) or "vcpu" (the vCPU does, on entry)."""
        check_cpu_id(cpu_id)
        if aarch64.current_el() != 2:
            raise AxError(AxError.Unsupported, "not running at EL2")
        self = cls(cpu_id, routing)
        IRQ_HANDLER.set(cpu_id, hal_irq_handler(hal if hal is not None else AxVCpuHal))
        return self

    def __repr__(self):
        return "<Aarch64PerCpu cpu_id=%d %s%s>" % (self.cpu_id, "enabled" if self.is_enabled() else "disabled",
                                                  "" if self.routing == "pcpu" else " routing=vcpu")

    def is_enabled(self):
        return bool(_read("HCR_EL2", self.cpu_id) & _VM)

    def hardware_enable(self):
        cpu = self.cpu_id
        hcr = _read("HCR_EL2", cpu)
        if hcr & _VM:
            return      # already enabled: the saved host vectors stay (fix 1)
        # Save the original exception vector base, then install the vCPU's.
        # If the vCPU table is already there (written by hand to route IRQs
        # through IRQ_HANDLER), the original host table is the firmware's
        # own: disable must not leave the CPU on the vCPU table (fix 5).
        vbar = _read("VBAR_EL2", cpu)
        try:
            _write("VBAR_EL2", exception_vector_base_vcpu, cpu)
            _write("HCR_EL2", hcr | ROUTINGS[self.routing], cpu)
        except Exception as e:
            _rollback(cpu, vbar, hcr)
            raise AxError(AxError.BadState, "enable failed on CPU %d (rolled back): %s" % (cpu, e))
        ORI_EXCEPTION_VECTOR_BASE[cpu] = aarch64.HOST_VECTORS if vbar == exception_vector_base_vcpu else vbar
        _ORI_HCR_EL2[cpu] = hcr

    def hardware_disable(self):
        cpu = self.cpu_id
        hcr = _read("HCR_EL2", cpu)
        if not hcr & _VM:
            return      # already disabled
        # HCR_EL2 back to what it was (VM clear) first: VBAR_EL2 must hold the
        # vCPU table while VM is set. Then VBAR_EL2 back to the saved value.
        # Without a hardware_enable() (VM set by hand), VM alone is cleared
        # and the host's table installed.
        saved = _ORI_HCR_EL2[cpu]
        _write("HCR_EL2", hcr & ~_VM if saved is None else saved, cpu)
        _write("VBAR_EL2", ORI_EXCEPTION_VECTOR_BASE[cpu] or aarch64.HOST_VECTORS, cpu)


    def pa_range(self):
        """The physical addresses this CPU can reach: range(0, 2**bits), the
        bits from ID_AA64MMFR0_EL1.PARange (as the newer arm_vcpu offers)."""
        return range(0, 1 << _pa_bits(self.cpu_id))

    def max_guest_page_table_levels(self):
        """Stage-2 levels a guest's address space gets: 4 from a 44-bit PA
        range up, else 3 (the VM's stage 2 uses the same rule)."""
        return 4 if _pa_bits(self.cpu_id) >= 44 else 3


_PARANGE_BITS = (32, 36, 40, 42, 44, 48, 52)


def _pa_bits(cpu):
    parange = _read("ID_AA64MMFR0_EL1", cpu) & sysregs.mask("ID_AA64MMFR0_EL1", "PARange")
    return _PARANGE_BITS[parange] if parange < len(_PARANGE_BITS) else 48


def _rollback(cpu, vbar, hcr):
    for name, value in (("HCR_EL2", hcr), ("VBAR_EL2", vbar)):
        try:
            _write(name, value, cpu)
        except Exception:
            pass


def status():
    """Every online CPU's state: a pcpu_status.Status (a table at the REPL, `.rows` as data)."""
    import pcpu_status
    return pcpu_status.status()
