# A physical device passed through: QEMU virt's PL031 RTC (MMIO at RTC, its
# SPI INTID) mapped into a VM and its interrupt forwarded (HW bit), the test
# guest (QEMU's loader put it at ADDRESS, SIZE bytes) in mode=rtc. Prints
# {name: value}: the guest's stop and console, the virtual GIC's counts, the
# physical GIC's state of INTID while the VM holds it and after close(), the
# RTC's interrupt status.
import aarch64, io, machine, vm

ADDRESS = globals().get("ADDRESS", 0x70000000)
SIZE = globals().get("SIZE")
RTC = globals().get("RTC", 0x09010000)
INTID = globals().get("INTID", 34)

GIC = aarch64.gic()
GICD = GIC["distributor"]
word, bit = 4 * (INTID // 32), 1 << (INTID % 32)


def phys():
    # The target: GICD_ITARGETSR's CPU mask (GICv2), GICD_IROUTER's affinity (GICv3).
    target = machine.mem32[GICD + 0x6000 + 8 * INTID] if GIC["kind"] == "GICv3" else machine.mem8[GICD + 0x800 + INTID]
    return {"enabled": bool(machine.mem32[GICD + 0x100 + word] & bit),
            "active": bool(machine.mem32[GICD + 0x300 + word] & bit),
            "target": target}


r = {}
with vm.VM(ram=64 << 20, cpus=1, cmdline="console=ttyAMA0 mode=rtc", console_out=io.BytesIO()) as v:
    v.passthrough(RTC, 0x1000, irq=INTID)
    v.load(address=ADDRESS, size=SIZE)
    stop = v.run(timeout_ms=120000, console=False)
    r["stop"] = (stop.reason, stop.status)
    r["out"] = v.uart.out.getvalue().decode()
    st = v.vgic_state()
    r["forwarded"] = bool(st["spi_forwarded"] & (1 << INTID))
    r["forwarded_taken"] = st["forwarded_taken"]
    r["injected"] = st["cpus"][0]["injected"]
    r["during"] = phys()
    r["cpu"] = v.cpu_ids[0]
    r["gic"] = v.gic_version
r["after"] = phys()
r["rtc_ris"] = machine.mem32[RTC + 0x14]
print(repr(r))
