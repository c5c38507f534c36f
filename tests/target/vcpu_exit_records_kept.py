# Exit records keep their own snapshot while thousands of others are dropped
# and collected around them (each record is allocated after the previous one,
# port/gccollect.c gc_alloc_after). The guest counts x2 up by one per HVC.
# Prints (records kept, how many hold the count they were taken at, the
# last count).
import gc, pcpu, vcpu
from vcpu import A64, code

pcpu.Aarch64PerCpu.new(0).hardware_enable()
with vcpu.Aarch64VCpu(code(A64.add_imm(2, 2, 1), A64.hvc(1), A64.b(-2))) as v:
    kept = []
    for i in range(3000):
        e = v.run()
        if i % 100 == 0:
            kept.append((i + 1, e))
        if i % 700 == 0:
            gc.collect()
    good = sum(1 for n, e in kept if e.regs[2] == n and e.kind == "sync" and e.iss == 1)
    last = v.regs[2]
print(repr((len(kept), good, last)))
