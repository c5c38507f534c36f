"""The benchmarks that run on the target, as MicroPython source.

Under QEMU's -icount shift=0 one instruction is one nanosecond of virtual
time, so counter ticks convert to instructions exactly; each figure is per
operation, with the cost of the Python loop around it measured and removed.
"""

TARGET_CODE = r'''
import aarch64, pcpu, vcpu, machine, time, gc
from vcpu import A64, code
_r = aarch64.read_sysreg
_w = aarch64.write_sysreg
NS_PER_TICK = 1_000_000_000 / _r("CNTFRQ_EL0")
def _ticks():
    return _r("CNTPCT_EL0")
def _loop(body, n, setup=""):
    src = "def _bench(n):\n%s t0 = _ticks()\n for _ in range(n):\n  %s\n return _ticks() - t0\n" % (
        "".join(" %s\n" % s for s in setup.split(";") if s), body)
    g = dict(globals())
    exec(src, g)
    # Start each timed loop on a fresh heap: a collection owed to earlier
    # allocations must not land inside it. One the loop itself causes counts.
    gc.collect()
    return g["_bench"](n)
def per_op(body, n, setup=""):
    """instructions per execution of `body`, loop overhead removed"""
    return (_loop(body, n, setup) - _loop("pass", n, setup)) * NS_PER_TICK / n
R = {}
R["boot_to_prompt_insns"] = aarch64.BOOT_TICKS * NS_PER_TICK
R["read_sysreg_insns"] = per_op("_r('VBAR_EL2')", 2000)
cpus = [pcpu.Aarch64PerCpu.new(c) for c in range(aarch64.cpu_count())]
p0 = cpus[0]
R["enable_disable_insns"] = per_op("p0.hardware_enable(); p0.hardware_disable()", 500)
V, E = aarch64.VCPU_VECTORS, pcpu.HCR_EL2.ENABLE
R["bare_enable_disable_insns"] = per_op(
    "h = _r('HCR_EL2'); o = _r('VBAR_EL2'); _w('VBAR_EL2', V); _w('HCR_EL2', h | E); "
    "_r('HCR_EL2'); _w('HCR_EL2', h); _w('VBAR_EL2', o)", 500)     # VM off before the host table
if len(cpus) > 1:
    R["cross_call_read_insns"] = per_op("_r('HCR_EL2', 1)", 500)
    R["local_read_with_cpu_insns"] = per_op("_r('HCR_EL2', 0)", 500)
    acc = [0]
    one_tick_read = _loop("_ticks()", 200) / 200 - _loop("pass", 200) / 200
    _loop("t0 = _ticks(); [p.hardware_enable() for p in cpus]; acc[0] += _ticks() - t0; "
          "[p.hardware_disable() for p in cpus]", 50)
    R["enable_all_cpus_insns"] = (acc[0] / 50 - one_tick_read) * NS_PER_TICK
lat = []
def _cb(t):
    now = _ticks()
    lat.append((now - _r("CNTHP_CVAL_EL2")) * NS_PER_TICK)
for i in range(20):
    # Busy, not asleep: from WFI the figure would include the emulator's wake-up.
    n0 = len(lat)
    tm = machine.Timer(mode=machine.Timer.ONE_SHOT, period=2, callback=_cb)
    while len(lat) == n0:
        pass
lat.sort()
R["timer_irq_to_callback_insns"] = lat[len(lat) // 2]
p0.hardware_enable()
N = 20000
v = vcpu.Aarch64VCpu(code(A64.movz(2, N), A64.hvc(vcpu.NULL_HVC), A64.subs_imm(2, 2, 1), A64.bne(-2), A64.hvc(1)))
t0 = _ticks(); v.run(); t = _ticks() - t0
vl = vcpu.Aarch64VCpu(code(A64.movz(2, N), A64.NOP, A64.subs_imm(2, 2, 1), A64.bne(-2), A64.hvc(1)))
t0 = _ticks(); vl.run(); tl = _ticks() - t0
R["null_hypercall_insns"] = (t - tl) * NS_PER_TICK / N
vx = vcpu.Aarch64VCpu(code(A64.hvc(1), A64.b(-1)))
R["python_exit_round_trip_insns"] = per_op("vx.run()", 500)
# Allocation-heavy Python with a growing live heap (GC pacing): per item.
t0 = _ticks(); _big = [str(i) for i in range(100000)]; t = _ticks() - t0
R["build_100k_str_list_insns_per_item"] = t * NS_PER_TICK / 100000
_big = None
p0.hardware_disable()
for x in (v, vl, vx): x.close()
# A VM (vm.py): a guest store to a Python device model and back into the
# guest, and PSCI_VERSION answered in C. The guest times its own loop of N
# calls with the virtual counter (x10, x11), so the VM's setup is not in it.
import vm as _vmm, io as _io
_CNTVCT = (3, 3, 14, 0, 2)
def _vm_loop(body, n, device=None):
    words = [A64.movz(2, n & 0xFFFF), A64.movz(3, n >> 16), 0x8B034042,    # x2 = n (add x2, x2, x3, lsl #16)
             A64.movz(5, 0x0B00, 16), A64.ISB, A64.mrs(10, _CNTVCT)]
    words += body + [A64.subs_imm(2, 2, 1), A64.bne(-len(body) - 1), A64.ISB, A64.mrs(11, _CNTVCT),
                     A64.movz(0, 0x8400, 16), A64.add_imm(0, 0, 8), A64.hvc(0)]        # SYSTEM_OFF
    with _vmm.VM(ram=2 << 20, console_out=_io.BytesIO()) as w:
        if device:
            w.add_device(0x0B000000, 0x1000, device)
        w.write(0x40080000, code(*words))
        w.entry = 0x40080000
        stop = w.run(console=False)
        assert stop.reason == "system_off", stop
        r = w.regs(0)
        return r[11] - r[10]
def _vm_per_call(body, n, device=None):
    return (_vm_loop(body, n, device) - _vm_loop([A64.NOP] * len(body), n)) * NS_PER_TICK / n
R["vm_mmio_store_round_trip_insns"] = _vm_per_call([0xB90000A2], 2000, _vmm.Device())   # str w2, [x5]
R["vm_psci_version_insns"] = _vm_per_call([A64.movz(0, 0x8400, 16), A64.hvc(0)], 100000)
print(repr(R))
'''

# The test guest (guests/testguest, mode=vtimer and mode=console) in a VM,
# from where QEMU's loader put it: its console, for bench.vm_guest_figures.
VM_GUEST_CODE = r'''
import io, vm
def _guest(mode):
    with vm.VM(ram=64 << 20, cmdline="console=ttyAMA0 " + mode, console_out=io.BytesIO()) as v:
        v.load(address=%(address)d, size=%(size)d)
        stop = v.run(timeout_ms=240000, console=False)
        return stop.reason, stop.status, v.uart.out.getvalue().decode()
print(repr([_guest(m) for m in %(modes)r]))
'''
