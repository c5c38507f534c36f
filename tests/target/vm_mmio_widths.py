# Stores of every width to a Python device (a RegisterFile), then loads of
# every width, zero- and sign-extending, into X and W registers.
# Prints (stop reason, {register: value}, device bytes 0..24).
import vm
from vm_asm import *

g = movx(5, TEST_DEVICE) + movx(6, 0x80) + movx(7, 0x8001) + movx(8, 0x80000001) + movx(9, 0x8000000000000001) + [
    ldst(STRB, 6, 5, 0), ldst(STRH, 7, 5, 2), ldst(STRW, 8, 5, 4), ldst(STRX, 9, 5, 8), ldst(STRX, XZR, 5, 16),
    ldst(LDRSBX, 10, 5, 0), ldst(LDRSBW, 11, 5, 0), ldst(LDRSHX, 12, 5, 2), ldst(LDRSHW, 13, 5, 2),
    ldst(LDRSWX, 14, 5, 4), ldst(LDRB, 15, 5, 0), ldst(LDRH, 16, 5, 2), ldst(LDRW, 17, 5, 4),
    ldst(LDRX, 18, 5, 8), ldst(LDRX, 19, 5, 16), ldst(LDRX, 28, 5, 8)] + movx(0, SYSTEM_OFF) + [A64.hvc(0)]
with vm.VM(ram=2 << 20, cpus=1) as v:
    dev = v.add_device(TEST_DEVICE, 0x1000, vm.RegisterFile())
    dev.mem[16:24] = b"\xff" * 8
    v.write(ENTRY, code(*g))
    v.entry = ENTRY
    stop = v.run(timeout_ms=2000, console=False)
    r = v.regs(0)
print(repr((stop.reason, dict((n, r[n]) for n in range(10, 20)), r[28], bytes(dev.mem[:24]))))
