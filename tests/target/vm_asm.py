# Encodings the VM tests' hand-made guests use, beyond vcpu.A64 (Arm ARM C6).
# Imported by the other vm_*.py files (run_file sends this one first).
from vcpu import A64, code

def ldst(op, rt, rn, imm):
    """Unsigned-offset load/store `op` (base encoding, imm in bytes, scaled by the size)."""
    size = 1 << (op >> 30)
    return op | (imm // size) << 10 | rn << 5 | rt

STRB, STRH, STRW, STRX = 0x39000000, 0x79000000, 0xB9000000, 0xF9000000
LDRB, LDRH, LDRW, LDRX = 0x39400000, 0x79400000, 0xB9400000, 0xF9400000
LDRSBX, LDRSBW, LDRSHX, LDRSHW, LDRSWX = 0x39800000, 0x39C00000, 0x79800000, 0x79C00000, 0xB9800000
XZR = 31

def movx(rd, value):
    """movz/movk: any 64-bit constant into xd."""
    words = [A64.movz(rd, value & 0xFFFF)]
    for shift in (16, 32, 48):
        part = (value >> shift) & 0xFFFF
        if part:
            words.append(0xF2800000 | (shift // 16) << 21 | part << 5 | rd)     # movk
    return words

def psci(fn, conduit="hvc"):
    return movx(0, fn) + [A64.hvc(0) if conduit == "hvc" else A64.smc(0)]

SYSTEM_OFF = 0x84000008
ENTRY = 0x40080000
TEST_DEVICE = 0x0B000000
