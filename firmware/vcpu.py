# The smallest real vCPU: an EL1 AArch64 guest behind stage 2, over the C core
# in port/core/vcpu.c. It proves hardware_enable()'s HCR_EL2 bits take effect:
# HVC and (with TSC) SMC trap, stage 2 (VM) confines memory, IRQs (IMO) exit
# to EL2, and the guest runs AArch64 at EL1 (RW).
#
#   import pcpu, vcpu
#   pcpu.Aarch64PerCpu.new(0).hardware_enable()
#   with vcpu.Aarch64VCpu(vcpu.code(vcpu.A64.movz(0, 7), vcpu.A64.hvc(0x42))) as v:
#       v.run()   ->  <VmExit sync EC=0x16 HVC64 ISS=0x42 ...>
#
# What a guest owns: its 2 MiB of guest RAM and its registers. Its EL1/EL0
# registers (system control, translation, thread ids, its timers, ...) are
# switched on every entry and exit, and a new vCPU starts from reset values
# (port/core/vcpu.h, VCPU_EL1_CONTEXT). The run's deadline is on the host's
# EL2 timer; the host's FP modes are restored on every exit.
import _vcpu
import sysregs
from axerrno import AxError
from percpu import check_cpu_id

GUEST_IPA = _vcpu.GUEST_IPA
GUEST_RAM_SIZE = _vcpu.GUEST_RAM_SIZE
NULL_HVC = _vcpu.NULL_HVC

# An exit record is a _vcpu.VmExit (built in C: Python meets one per exit):
#   kind     'sync' (a trap), 'irq' (an IRQ while the guest ran) or 'timeout'
#   ec, ec_name, iss   of ESR_EL2, for 'sync' (else None)
#   esr, elr, far, hpfar
#   ipa      the faulting IPA of a stage-2 abort (else None)
#   regs     the guest's x0..x30 at the exit, as a tuple
VmExit = _vcpu.VmExit


class Registers:
    """x0..x30 of the guest, read and written in place."""

    def __init__(self, core):
        self._core = core

    def __getitem__(self, i):
        if not 0 <= i <= 30:
            raise IndexError("x0..x30")
        return self._core.reg(i)

    def __setitem__(self, i, value):
        if not 0 <= i <= 30:
            raise IndexError("x0..x30")
        self._core.reg(i, value)

    def __len__(self):
        return 31

    def __repr__(self):
        return repr(self._core.regs())


class Aarch64VCpu:
    def __init__(self, code, cpu_id=0):
        check_cpu_id(cpu_id)
        self.cpu_id = cpu_id
        self._core = _vcpu.VCpuCore(code, cpu_id, AxError)
        self.regs = Registers(self._core)
        # run(timeout_ms=None): enter the guest on its CPU and return the next
        # VmExit; calling it again resumes the guest (after a trapped HVC or
        # SMC). AxError(BadState) if that CPU's virtualization is
        # disabled. It runs once per exit, so it is the C entry itself.
        self.run = self._core.run

    @property
    def pc(self):
        return self._core.reg(31)

    @pc.setter
    def pc(self, value):
        self._core.reg(31, value)

    @property
    def sp(self):
        return self._core.reg(32)

    @sp.setter
    def sp(self, value):
        self._core.reg(32, value)

    def stats(self):
        """(exits, null hypercalls answered in C)"""
        return self._core.stats()

    def close(self):
        """Give the vCPU's guest RAM slot back (one of VCPU_MAX); also done by
        `with`, and by the garbage collector for a vCPU nobody refers to."""
        self._core.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def code(*words):
    """Machine code from 32-bit instruction words."""
    b = bytearray()
    for w in words:
        b += w.to_bytes(4, "little")
    return bytes(b)


def _x(r):
    """A general register number, 0..30 (31 is XZR or SP, as the instruction says)."""
    if not isinstance(r, int) or not 0 <= r <= 31:
        raise ValueError("register must be 0..31, not %r" % (r,))
    return r


def _sysreg_bits(reg):
    if isinstance(reg, tuple) and len(reg) == 5:
        op0, op1, crn, crm, op2 = reg
    elif reg in sysregs.REGISTERS:
        op0, op1, crn, crm, op2 = sysregs.REGISTERS[reg][:5]
    else:
        raise ValueError("unknown system register %r" % (reg,))
    return (op0 & 1) << 19 | op1 << 16 | crn << 12 | crm << 8 | op2 << 5


class A64:
    """Encoders for the few instructions the examples and tests use."""

    @staticmethod
    def hvc(imm):
        return 0xD4000002 | (imm & 0xFFFF) << 5

    @staticmethod
    def smc(imm):
        return 0xD4000003 | (imm & 0xFFFF) << 5

    @staticmethod
    def movz(rd, imm16, shift=0):
        return 0xD2800000 | (shift // 16) << 21 | (imm16 & 0xFFFF) << 5 | _x(rd)

    @staticmethod
    def add_imm(rd, rn, imm12):
        return 0x91000000 | (imm12 & 0xFFF) << 10 | _x(rn) << 5 | _x(rd)

    @staticmethod
    def subs_imm(rd, rn, imm12):
        return 0xF1000000 | (imm12 & 0xFFF) << 10 | _x(rn) << 5 | _x(rd)

    @staticmethod
    def ldr(rt, rn):
        return 0xF9400000 | _x(rn) << 5 | _x(rt)

    @staticmethod
    def str(rt, rn):
        return 0xF9000000 | _x(rn) << 5 | _x(rt)

    @staticmethod
    def mrs(rt, reg):
        """MRS Xt, reg: a name from the register table or (op0, op1, CRn, CRm, op2)."""
        return 0xD5300000 | _sysreg_bits(reg) | _x(rt)

    @staticmethod
    def msr(reg, rt):
        """MSR reg, Xt."""
        return 0xD5100000 | _sysreg_bits(reg) | _x(rt)

    ISB = 0xD5033FDF
    WFI = 0xD503207F
    ERET = 0xD69F03E0

    @staticmethod
    def b(offset_insns):
        return 0x14000000 | (offset_insns & 0x3FFFFFF)

    @staticmethod
    def bne(offset_insns):
        return 0x54000001 | (offset_insns & 0x7FFFF) << 5

    NOP = 0xD503201F
