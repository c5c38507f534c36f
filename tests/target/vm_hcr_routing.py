# HCR_EL2 routing, both ways pcpu offers it (Aarch64PerCpu.new(routing=...)):
# CPU 1 with FMO cleared by hand, enabled with ROUTING, then the test guest
# (QEMU's loader put it at ADDRESS, SIZE bytes) takes the virtual timer's
# interrupts in a VM on CPU 1. Prints {name: value}: HCR_EL2 before enable,
# after it, the value the vCPU ran with, after the VM closed, after disable;
# the guest's stop and console.
import aarch64, io, pcpu, vm

ADDRESS = globals().get("ADDRESS", 0x70000000)
SIZE = globals().get("SIZE")
ROUTING = globals().get("ROUTING", "pcpu")
MODE = globals().get("MODE", "mode=vtimer n=20")
CPU = 1

FMO = pcpu.HCR_EL2.FMO
boot = aarch64.read_sysreg("HCR_EL2", CPU)
aarch64.write_sysreg("HCR_EL2", boot & ~FMO, CPU)
r = {"before": aarch64.read_sysreg("HCR_EL2", CPU)}
p = pcpu.Aarch64PerCpu.new(CPU, routing=ROUTING)
try:
    p.hardware_enable()
    r["enabled"] = aarch64.read_sysreg("HCR_EL2", CPU)
    with vm.VM(ram=64 << 20, cpus=1, cpu_ids=[CPU], cmdline="console=ttyAMA0 " + MODE,
               console_out=io.BytesIO()) as v:
        v.load(address=ADDRESS, size=SIZE)
        stop = v.run(timeout_ms=240000, console=False)
        r["guest"] = v.guest_hcr(0)
        r["stop"] = (stop.reason, stop.status)
        r["out"] = v.uart.out.getvalue().decode()
    r["after_vm"] = aarch64.read_sysreg("HCR_EL2", CPU)
    p.hardware_disable()
    r["disabled"] = aarch64.read_sysreg("HCR_EL2", CPU)
finally:
    p.hardware_disable()
    aarch64.write_sysreg("HCR_EL2", boot, CPU)
print(repr(r))
