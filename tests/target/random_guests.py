# Guests that misbehave: COUNT guests of 16 random words (KIND "random") or
# biased to system-register instructions (KIND "sysreg"), each run on CPU 0
# and CPU 1 with a deadline. Afterwards the host must be as before: its FP
# state, the firmware's registers, the heap, and a fresh guest sees reset
# values. Prints a dict of what was compared and the exits seen.
import aarch64, gc, pcpu, random, vcpu
from vcpu import A64, code

COUNT = globals().get("COUNT", 100)
KIND = globals().get("KIND", "random")
SEED = globals().get("SEED", 1)
CPUS = (0, 1)
FIRMWARE_REGS = ("HCR_EL2", "VBAR_EL2", "CNTHCTL_EL2", "CNTVOFF_EL2", "SCTLR_EL2", "CPTR_EL2",
                 "MDCR_EL2", "VTCR_EL2")
RESET_READ = ("TPIDR_EL1", "TPIDR_EL0", "TTBR0_EL1", "CONTEXTIDR_EL1", "VBAR_EL1", "CPACR_EL1",
              "CNTP_CTL_EL0", "CNTV_CTL_EL0", "SCTLR_EL1")


def firmware_state():
    return [[aarch64.read_sysreg(r, c) for r in FIRMWARE_REGS] for c in CPUS]


def sysreg_word(rnd):
    # MSR/MRS with a random encoding (op0 2 or 3), to a random register
    op0 = 2 + rnd.getrandbits(1)
    return (0xD5100000 | rnd.getrandbits(1) << 21 | (op0 & 1) << 19 | rnd.getrandbits(3) << 16
            | rnd.getrandbits(4) << 12 | rnd.getrandbits(4) << 8 | rnd.getrandbits(3) << 5 | rnd.getrandbits(5))


def guest_words(rnd):
    if KIND == "sysreg":
        body = [sysreg_word(rnd) if rnd.getrandbits(2) else rnd.getrandbits(32) for _ in range(16)]
    else:
        body = [rnd.getrandbits(32) for _ in range(16)]
    # VBAR_EL1 = the guest's base, so the guest's own exceptions (taken at
    # +0x200) run the same random words again instead of leaving its memory.
    head = [A64.movz(0, vcpu.GUEST_IPA >> 16, 16), A64.msr("VBAR_EL1", 0), A64.ISB]
    pad = [0] * (0x200 // 4 - len(head) - len(body))
    return head + body + pad + body + [A64.ERET]


def run_fresh(words, cpu):
    with vcpu.Aarch64VCpu(code(*words), cpu_id=cpu) as v:
        for r in range(31):
            v.regs[r] = random.getrandbits(32) << 32 | random.getrandbits(32)
        for _ in range(20):     # a few exits each, then the next guest
            e = v.run(timeout_ms=5)
            if e.kind == "timeout":
                break
            if e.kind == "sync" and e.ec_name in ("HVC64", "SMC64", "SYSREG", "WFX"):
                continue        # the guest resumes after these
            if e.kind == "sync":
                break           # an abort: the guest cannot go on
        return e.kind if e.kind != "sync" else e.ec_name


for c in CPUS:
    pcpu.Aarch64PerCpu.new(c).hardware_enable()
    run_fresh([A64.hvc(0)], c)      # the vCPU core's own set-up (VTCR_EL2) done once
fw0 = firmware_state()
rnd = random
rnd.seed(SEED)
exits = {}
for k in ("timeout", "irq", "DABT_LOWER", "IABT_LOWER", "HVC64", "SMC64", "SYSREG", "WFX"):
    exits[k] = 0        # the keys exist before the heap is measured
words = k = None
gc.collect()
heap0 = gc.mem_free()
for i in range(COUNT):
    words = guest_words(rnd)
    for c in CPUS:
        k = run_fresh(words, c)
        exits[k] = exits.get(k, 0) + 1
words = k = None
gc.collect()
heap1 = gc.mem_free()
fp_ok = 1e-310 * 1.0 != 0.0 and 0.1 + 0.2 == 0.30000000000000004
fw1 = firmware_state()
# A fresh guest reads reset values on both CPUs.
fresh = []
for c in CPUS:
    reader = [A64.mrs(1 + i, r) for i, r in enumerate(RESET_READ)] + [A64.hvc(1)]
    with vcpu.Aarch64VCpu(code(*reader), cpu_id=c) as v:
        v.run(timeout_ms=1000)
        fresh.append([v.regs[1 + i] for i in range(len(RESET_READ))])
for c in CPUS:
    pcpu.Aarch64PerCpu.new(c).hardware_disable()
print(repr({"fp_ok": fp_ok, "firmware_same": fw0 == fw1, "heap_growth": heap0 - heap1,
            "fresh": fresh, "exits": exits, "guests": COUNT * len(CPUS)}))
