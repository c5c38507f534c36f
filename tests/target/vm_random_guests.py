# N VMs in a row, each running random instruction words (seeded) for up to
# MS ms: every one ends with a report, and the firmware's registers on every
# CPU and its heap are as before. Prints (reasons: {reason: count}, registers
# changed: [(cpu, name, before, after)], heap bytes after the first tenth, at the end).
import aarch64, gc, random, vm
from vcpu import code

N = globals().get("N", 1000)
MS = globals().get("MS", 20)
SEED = globals().get("SEED", 1)
# The firmware's own registers. (VTCR_EL2 and VTTBR_EL2 keep the last guest's
# stage-2 setting; nothing reads them while HCR_EL2.VM is clear.)
REGS = ("HCR_EL2", "VBAR_EL2", "SCTLR_EL2", "CPTR_EL2", "MDCR_EL2", "CNTHCTL_EL2", "TPIDR_EL2", "DAIF")

def snapshot():
    return [(c, r, aarch64.read_sysreg(r, cpu=c)) for c in range(aarch64.cpu_count()) for r in REGS]

def one(words):
    with vm.VM(ram=2 << 20, cpus=1, console_out=Sink()) as v:
        v.write(0x40080000, code(*words))
        v.entry = 0x40080000
        return v.run(timeout_ms=MS, console=False).reason

class Sink:
    def write(self, b):
        pass

random.seed(SEED)
reasons = {}
before = snapshot()
for i in range(N):
    if i == N // 10:
        # By now every path has run once (imports, interned names, the first
        # of each kind of stop): from here on the heap must not grow.
        gc.collect()
        heap_before = gc.mem_alloc()
    r = one([random.getrandbits(32) for _ in range(64)])
    reasons[r] = reasons.get(r, 0) + 1
gc.collect()
after, heap_after = snapshot(), gc.mem_alloc()
changed = [(c, r, b, a) for (c, r, b), (_, _, a) in zip(before, after) if a != b]
print(repr((reasons, changed, heap_before, heap_after)))
