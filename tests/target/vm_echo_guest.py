# A guest that echoes what is typed on its console, each byte plus one
# ("a" comes back as "b"), and powers off on "q". Leaves `v`, not started.
import vm
from vm_asm import *

TBNZ_W1_BIT4 = lambda back: 0x37000000 | 4 << 19 | (back & 0x3FFF) << 5 | 1
CMP_W2 = lambda imm: 0x7100001F | imm << 10 | 2 << 5
BEQ = lambda fwd: 0x54000000 | (fwd & 0x7FFFF) << 5
g = movx(5, 0x09000000) + [
    ldst(LDRW, 1, 5, 0x18), TBNZ_W1_BIT4(-1),      # wait while the receive FIFO is empty
    ldst(LDRW, 2, 5, 0), CMP_W2(ord("q")), BEQ(4),
    0x11000442, ldst(STRW, 2, 5, 0), A64.b(-7)] + movx(0, SYSTEM_OFF) + [A64.hvc(0)]     # add w2, w2, #1
v = vm.VM(ram=2 << 20, cpus=1)
v.write(ENTRY, code(*g))
v.entry = ENTRY
