# PSCI_VERSION over HVC and over SMC, each followed by one counting add; then
# SYSTEM_OFF with the count as its status. A trapped HVC returns after itself,
# a trapped SMC needs ELR + 4: wrong either way, the count is not 2 (or the
# SMC runs for ever and the run times out).
# Prints (stop reason, status, x11 = HVC's answer, x12 = SMC's answer).
import vm
from vm_asm import *

g = (movx(10, 0) + psci(0x84000000) + [A64.add_imm(10, 10, 1), A64.add_imm(11, 0, 0)]
     + psci(0x84000000, conduit="smc") + [A64.add_imm(10, 10, 1), A64.add_imm(12, 0, 0)]
     + movx(0, SYSTEM_OFF) + [A64.add_imm(1, 10, 0), A64.hvc(0), A64.b(0)])
with vm.VM(ram=2 << 20, cpus=1) as v:
    v.write(ENTRY, code(*g))
    v.entry = ENTRY
    stop = v.run(timeout_ms=2000, console=False)
    r = v.regs(0)
print(repr((stop.reason, stop.status, r[11], r[12])))
