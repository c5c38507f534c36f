# The register fuzz (README, "Reliability"): registers of the table, on every
# CPU, written with 0, all ones, random values and every single-bit flip of
# their value. Each write must either raise ValueError and leave the register
# as it was (or fault: aarch64.Fault, nothing written), or be taken and leave
# the firmware working: the CPU written still answers a cross-call, CPU 0's
# machine.Timer still fires, and with virtualization enabled a guest on the
# CPU written still runs and exits. The register is then written back, and
# after each register every CPU must answer.
#
# A cross-call that times out (ETIMEDOUT: nothing was done, the CPU's host
# thread was late on a loaded machine) is tried again.
#
# Globals (all optional): NAMES, CPUS, ENABLED (pcpu's hardware_enable() on
# every CPU first), RANDOM (random values per register and CPU), SEED.
# Prints {name: [accepted, refused, faulted]} and the problems found.
import aarch64, machine, pcpu, random, sysregs, time, vcpu

NAMES = globals().get("NAMES") or sorted(sysregs.REGISTERS)
CPUS = globals().get("CPUS") or list(range(aarch64.cpu_count()))
ENABLED = globals().get("ENABLED", False)
RANDOM = globals().get("RANDOM", 2)
random.seed(globals().get("SEED", 17))

ALL_ONES = (1 << 64) - 1
# Registers whose value changes by itself (the next exception, the counter,
# the firmware's own timer programming): a refused write is not re-read.
CHANGING = ("ESR_EL2", "ELR_EL2", "SPSR_EL2", "FAR_EL2", "HPFAR_EL2", "CNTPCT_EL0", "CNTHP_TVAL_EL2",
            "CNTHP_CTL_EL2", "CNTHP_CVAL_EL2", "CNTP_CTL_EL0", "CNTP_CVAL_EL0", "CNTV_CTL_EL0", "DAIF")
GUEST_MS = 100     # a guest that does not exit by then is stopped by its deadline

ETIMEDOUT = 110
TRIES = 20
from timer_probe import *     # ticks, tick, timer_fires


def retried(fn, *args, **kw):
    """fn(*args, **kw), again while it times out before the CPU started it."""
    for i in range(TRIES):
        try:
            return fn(*args, **kw)
        except OSError as e:
            if e.errno != ETIMEDOUT or i == TRIES - 1:
                raise


def read(name, cpu):
    return retried(aarch64.read_sysreg, name, cpu=cpu)


def write(name, value, cpu):
    retried(aarch64.write_sysreg, name, value, cpu=cpu)


def random64():
    return random.getrandbits(32) << 32 | random.getrandbits(32)


# Values worth a write besides the fuzz's own: the ones the firmware itself writes.
SPECIAL = {"VBAR_EL2": (aarch64.HOST_VECTORS, aarch64.VCPU_VECTORS)}


def values(name, current):
    out = [0, ALL_ONES] + [random64() for _ in range(RANDOM)] + list(SPECIAL.get(name, ()))
    return out + [current ^ (1 << b) for b in range(64)]


def guest_runs(g):
    """The guest on its CPU (an HVC, then a loop) comes back with an exit:
    the HVC, an abort, or its deadline (host IRQs may end a run early)."""
    g.pc = vcpu.GUEST_IPA
    for _ in range(1000):
        e = g.run(timeout_ms=GUEST_MS)
        if e.kind != "irq":
            return e.kind in ("timeout", "sync")
    return False


def healthy(cpus, guests):
    """What is wrong with the firmware now ('' if nothing)."""
    for c in cpus:
        try:
            read("MPIDR_EL1", c)
        except OSError as e:
            return "CPU %d does not answer: %s" % (c, e)
    if not timer_fires():
        return "CPU 0's machine.Timer stopped"
    for c in cpus:
        g = guests.get(c)
        if g is not None and read("HCR_EL2", c) & pcpu.HCR_EL2.VM and not guest_runs(g):
            return "a guest on CPU %d does not run and exit" % c
    return ""


def fuzz(name, cpu, guests, counts, problems):
    try:
        current = read(name, cpu)
    except aarch64.Fault:
        current = 0             # not implemented here (a GICv3 register on a GICv2 machine)
    for v in values(name, current):
        try:
            write(name, v, cpu)
        except ValueError:
            counts[1] += 1
            if name not in CHANGING and read(name, cpu) != current:
                problems.append((name, cpu, hex(v), "refused, yet the register changed"))
            continue
        except aarch64.Fault:
            counts[2] += 1
            continue
        counts[0] += 1
        wrong = healthy([cpu], guests)
        try:
            write(name, current, cpu)
        except Exception as e:
            wrong += "; writing the value back failed: %r" % e
        if wrong:
            problems.append((name, cpu, hex(v), wrong))


def main():
    cpus = [pcpu.Aarch64PerCpu.new(c) for c in CPUS]
    guests = {}
    if ENABLED:
        for p in cpus:
            p.hardware_enable()
        guest = vcpu.code(vcpu.A64.hvc(0), vcpu.A64.b(0))
        guests = dict((c, vcpu.Aarch64VCpu(guest, cpu_id=c)) for c in CPUS)
    timer = machine.Timer(period=1, callback=tick)
    results, problems = {}, []
    try:
        for name in NAMES:
            counts = results[name] = [0, 0, 0]
            for c in CPUS:
                fuzz(name, c, guests, counts, problems)
            wrong = healthy(CPUS, guests)
            if wrong:
                problems.append((name, None, None, wrong))
    finally:
        timer.deinit()
        for g in guests.values():
            g.close()
        if ENABLED:
            for p in cpus:
                p.hardware_disable()
    print(repr((results, problems[:20], len(problems))))


main()
