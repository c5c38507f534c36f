# vCPUs nobody refers to give their guest RAM slots back without an explicit
# gc.collect(); `with` gives them back at once. Prints (rebinds, withs) done.
import vcpu
from vcpu import A64, code

N = globals().get("N", 40)
rebinds = 0
for i in range(N):
    v = vcpu.Aarch64VCpu(code(A64.hvc(0)))
    rebinds += 1
withs = 0
for i in range(N):
    with vcpu.Aarch64VCpu(code(A64.hvc(0))) as w:
        withs += 1
print(repr((rebinds, withs)))
