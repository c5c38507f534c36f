"""Virtual machines: real guest kernels under the REPL.

    import vm
    v = vm.VM(ram=256 << 20, cpus=2, cmdline="console=ttyAMA0")
    v.load("/guest.bin")                # a Linux arm64 Image, an ELF or a flat binary
    v.add_device(0x0b00_0000, 0x1000, vm.RegisterFile())     # a device model in Python
    print(v.dts())                      # the device tree the guest gets in x0
    v.run()                             # guest console on this one; Ctrl-] pauses
    # -> VmStop(system_off, vcpu=0, status=0)

Guest RAM sits at IPA 0x4000_0000 as on QEMU virt, backed by RAM above the
firmware's own (free_ram()), mapped through stage 2 with the largest blocks
that fit up to STAGE2_BLOCK (4 KiB on QEMU virt, whose TCG flushes its whole
TLB for a guest TLBI inside a larger block; 1 GiB on the Pi). vCPU i runs on physical CPU i + 1: CPU 0 keeps Python and the REPL.
The C side (_vm, port/core/vm.c) enters the guest, answers PSCI queries and
decodes MMIO; this module decides everything else: devices, CPU_ON, power
off, faults. A guest owns only its RAM and the devices given to it; anything
else it does stops the VM with a report, and the firmware carries on.
"""
import _vm
import aarch64
import micropython
import sys
import time

import fdt
import guest_image
import pcpu
import sysregs
import vm_devicetree
import vm_layout

ESCAPE = 0x1D                   # Ctrl-]: pause the VM, back to the >>> prompt
DTB_MAX = 2 << 20               # booting.rst: the tree is at most 2 MiB

# PSCI (Arm DEN 0022): what CPU 0 decides; port/core/vm.c answers the rest.
PSCI_CPU_OFF = 0x8400_0002
PSCI_CPU_ON = (0x8400_0003, 0xC400_0003)
PSCI_SYSTEM_OFF = 0x8400_0008
PSCI_SYSTEM_RESET = 0x8400_0009
PSCI_SUCCESS, PSCI_NOT_SUPPORTED, PSCI_INVALID_PARAMETERS = 0, -1, -2
PSCI_ALREADY_ON, PSCI_ON_PENDING, PSCI_INVALID_ADDRESS = -4, -5, -9
POWER_ON, POWER_OFF = 0, 1
_EXIT_MMIO = _vm.EXIT_MMIO
STAGE2_BLOCK = _vm.STAGE2_BLOCK     # the board's default for VM(stage2_block=)
_U64 = (1 << 64) - 1


def free_ram():
    """(physical base, size) of the RAM guests may use."""
    return _vm.free_ram()


class VmStop:
    """Why run() returned. reason: "system_off", "reset" (with
    VM(on_reset="stop"); by default a reset boots the guest again),
    "paused", "timeout" or "fault"; vcpu: the vCPU that caused it (None for paused/timeout);
    status: x1 of SYSTEM_OFF (the test guest's failure count); for a fault
    esr, elr, far, ipa and a message."""

    def __init__(self, reason, vcpu=None, status=None, esr=None, elr=None, far=None, ipa=None, message=""):
        self.reason = reason
        self.vcpu = vcpu
        self.status = status
        self.esr, self.elr, self.far, self.ipa = esr, elr, far, ipa
        self.message = message

    def __repr__(self):
        parts = [self.reason]
        if self.vcpu is not None:
            parts.append("vcpu=%d" % self.vcpu)
        if self.status is not None:
            parts.append("status=%d" % self.status)
        if self.esr is not None:
            parts.append("ESR=0x%x (%s)" % (self.esr, sysregs.ec_name(self.esr)))
        for name in ("elr", "far", "ipa"):
            value = getattr(self, name)
            if value is not None:
                parts.append("%s=0x%x" % (name.upper(), value))
        if self.message:
            parts.append(repr(self.message))
        return "VmStop(%s)" % ", ".join(parts)


class Device:
    """A memory-mapped device model. Subclasses override read and write;
    offsets are from the device's base, width is 1, 2, 4 or 8 bytes.
    `compatible` (a string or list), if set, puts a node for it in the
    device tree. A device added with an interrupt (add_device(irq=INTID))
    raises and lowers its line with self.irq(level).

    Two ways to spare the guest a round trip to Python (each costs the
    vCPU a wait for CPU 0): `posted`, ranges (offset, size) whose writes may
    reach write() later, in order, while the guest runs on (KVM's coalesced
    MMIO: for a data register; a model that defines write_bytes(offset,
    data) gets a run of them to one register as one call, each write's low
    byte); and self.publish(offset, value), after which
    loads of that register read `value` without calling read() (for a
    status register: publish again whenever it changes)."""
    compatible = None
    posted = ()
    intid = None                # its SPI, once added with one
    _line = None                # the VM's core.irq, once added with one
    _level = False
    _base = None
    _publish = None             # the VM's core.publish, once added

    def added(self):
        """Called once add_device() has placed the model (publish here)."""

    def publish(self, offset, value):
        if self._publish is not None:
            self._publish(self._base + offset, value)

    def read(self, offset, width):
        return 0

    def write(self, offset, width, value):
        pass

    def irq(self, level):
        """Drive the device's interrupt line (level-sensitive): True raises it."""
        level = bool(level)
        if level != self._level and self._line is not None:
            self._level = level
            self._line(self.intid, level)


class RegisterFile(Device):
    """Plain memory behind MMIO: what is written is read back (little endian).
    The test guest's test device."""
    compatible = "aarch64-el2,test-device"

    def __init__(self, size=256):
        self.mem = bytearray(size)

    def read(self, offset, width):
        return int.from_bytes(self.mem[offset:offset + width], "little")

    def write(self, offset, width, value):
        self.mem[offset:offset + width] = value.to_bytes(width, "little")


class PL011(Device):
    """The guest's console: an Arm PL011 UART as Linux's amba-pl011 driver
    and simple guests use it. Output goes to `out` (this console by default)
    as the guest writes it; feed() queues input for the guest."""

    DR, FR, IBRD, FBRD, LCR_H, CR, IFLS, IMSC, RIS, MIS, ICR = (
        0x00, 0x18, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C, 0x40, 0x44)
    FR_RXFE, FR_TXFF, FR_RXFF, FR_TXFE = 1 << 4, 1 << 5, 1 << 6, 1 << 7
    INT_RX, INT_TX = 1 << 4, 1 << 5
    posted = ((0x00, 4),)       # DR: output flows without a round trip per byte
    # PrimeCell identification at 0xFE0..0xFFC: a PL011 r1p5, as QEMU's.
    ID = (0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1)
    FIFO = 32

    def __init__(self, out=None):
        self.out = out
        self.rx = bytearray()
        self.tx = bytearray()
        # Set to a list to have each line the guest writes recorded with the
        # firmware's clock as it reaches the model: (time.ticks_us(), bytes).
        self.stamps = None
        self._partial = bytearray()
        self.regs = {self.IBRD: 0, self.FBRD: 0, self.LCR_H: 0, self.CR: 0x300, self.IFLS: 0x12, self.IMSC: 0}
        self.ris = self.INT_TX

    def _update(self):
        self.irq(self.ris & self.regs[self.IMSC])

    def _fr(self):
        return (self.FR_RXFE if not self.rx else 0) | (self.FR_RXFF if len(self.rx) >= self.FIFO else 0) | self.FR_TXFE

    def added(self):
        self.publish(self.FR, self._fr())       # polled before every byte a guest writes

    def read(self, offset, width):
        if offset == self.DR:
            if not self.rx:
                return 0
            c = self.rx[0]
            self.rx = self.rx[1:]
            if not self.rx:
                self.ris &= ~self.INT_RX
                self._update()
                self.publish(self.FR, self._fr())
            return c
        if offset == self.FR:
            if not self.rx:
                self.flush()            # a guest waiting for input has said what it had to say
            return self._fr()
        if offset == self.RIS:
            return self.ris
        if offset == self.MIS:
            return self.ris & self.regs[self.IMSC]
        if 0xFE0 <= offset < 0x1000:
            return self.ID[(offset - 0xFE0) >> 2]
        return self.regs.get(offset, 0)

    def write_bytes(self, offset, data):
        # A run of posted writes to one register, as bytes (see Device).
        if offset != self.DR:
            for b in data:
                self.write(offset, 1, b)
            return
        self.tx.extend(data)
        if self.stamps is not None:
            for b in data:
                self._stamp(b)
        if 10 in data or len(self.tx) >= 128:
            self.flush()
        if not self.ris & self.INT_TX:
            self.ris |= self.INT_TX         # the FIFO took them at once: room again, as QEMU's PL011
            self._update()

    def write(self, offset, width, value):
        if offset == self.DR:
            self.tx.append(value & 0xFF)
            if self.stamps is not None:
                self._stamp(value & 0xFF)
            if value & 0xFF == 10 or len(self.tx) >= 128:
                self.flush()
            if not self.ris & self.INT_TX:
                self.ris |= self.INT_TX         # the FIFO took it at once: room again, as QEMU's PL011
                self._update()
        elif offset == self.ICR:
            self.ris &= ~value
            self._update()
        elif offset in self.regs:
            self.regs[offset] = value
            if offset == self.IMSC:
                self._update()

    def _stamp(self, byte):
        if byte == 10:
            self.stamps.append((time.ticks_us(), bytes(self._partial).rstrip(b"\r")))
            self._partial = bytearray()
        elif len(self._partial) < 256:
            self._partial.append(byte)

    def line_time_us(self, a, b):
        """Microseconds of the firmware's clock between the last lines the
        guest wrote that read `a` and `b` (bytes or str; from stamps)."""
        a, b = (x.encode() if isinstance(x, str) else x for x in (a, b))
        found = {}
        for t, line in self.stamps or ():
            if line in (a, b):
                found[line] = t
        if a not in found or b not in found:
            raise ValueError("no line %r and %r among the stamped ones" % (a, b))
        return time.ticks_diff(found[b], found[a])

    def flush(self):
        if self.tx:
            if self.out is None:
                # The bytes as the guest wrote them: a guest's tty already
                # sends \r\n (the REPL's text stdout would add a \r to each \n).
                sys.stdout.buffer.write(self.tx)
            else:
                self.out.write(bytes(self.tx))
            self.tx = bytearray()

    def feed(self, data):
        """Bytes typed for the guest."""
        self.rx.extend(data)
        self.ris |= self.INT_RX
        self._update()
        self.publish(self.FR, self._fr())


class VM:
    """A virtual machine: RAM, vCPUs, a device tree, devices. See the module doc."""

    def __init__(self, ram=256 << 20, cpus=1, cmdline="", psci="hvc", cpu_ids=None, console_out=None,
                 on_reset="restart", routing="pcpu", stage2_block=None):
        if cpu_ids is None:
            cpu_ids = list(range(1, cpus + 1))
        cpu_ids = list(cpu_ids)
        if len(cpu_ids) != cpus:
            raise ValueError("cpu_ids names %d CPUs for %d vCPUs" % (len(cpu_ids), cpus))
        if cpus > aarch64.cpu_count() - 1 and 0 not in cpu_ids:
            raise ValueError("%d vCPUs need %d CPUs besides CPU 0 (the REPL's); this machine has %d online"
                             % (cpus, cpus, aarch64.cpu_count()))
        if psci not in ("hvc", "smc"):
            raise ValueError("psci must be 'hvc' or 'smc'")
        if on_reset not in ("restart", "stop"):
            raise ValueError("on_reset must be 'restart' (the guest boots again) or 'stop' (run() returns)")
        self.on_reset = on_reset
        self.resets = 0                 # how often the guest rebooted
        self._loads = []                # load()/load_initrd() calls, replayed at a reboot
        self.ram, self.cpus, self.cmdline, self.psci = ram, cpus, cmdline, psci
        self.cpu_ids = cpu_ids
        self.mpidrs = [vm_layout.mpidr_affinity(i) for i in range(cpus)]
        # Virtualization on each CPU a vCPU runs on, as pcpu does it (routing:
        # pcpu.Aarch64PerCpu's, for the CPUs not enabled yet; the vCPUs set
        # their own HCR_EL2 bits on entry either way).
        self._enabled = []
        for c in cpu_ids:
            p = pcpu.Aarch64PerCpu.new(c, routing=routing)
            if not p.is_enabled():
                p.hardware_enable()
                self._enabled.append(p)
        try:
            if stage2_block is None:
                self._core = _vm.Core(ram, cpu_ids, self.mpidrs)
            else:
                self._core = _vm.Core(ram, cpu_ids, self.mpidrs, stage2_block)
        except Exception:
            self._disable()
            raise
        self._core.zero(vm_layout.RAM_BASE, ram)
        self.vgic = self._core.vgic() is not None   # a virtual GIC: interrupts for the guest
        # Its kind follows the host's: a virtual GICv3 on a GICv3 (core/vgic3.c).
        self.gic_version = 3 if self.vgic and aarch64.gic()["kind"] == "GICv3" else 2
        self._devices = []              # (base, end, model, in the tree)
        self._forwarded = []            # physical SPIs passed through (passthrough(irq=))
        self._passthrough_nodes = []    # (name, base, size, compatible, intid)
        self._core.devices(self._devices)   # accesses to them are answered inside core.wait()
        self.uart = PL011(console_out)
        self.add_device(vm_layout.UART_BASE, vm_layout.UART_SIZE, self.uart, node=False,
                        irq=vm_layout.UART_INTID if self.vgic else None)
        self.entry = None
        self.initrd = None              # (ipa, size)
        self._pending = {}              # vCPU -> exit still to handle (after a pause)
        self._exit = [0] * 5            # [kind, a0, a1, a2, a3]: each wait() refills it
        self._started = False
        self.stopped = None             # the VmStop that ended it for good

    # -- memory and images -------------------------------------------------

    def write(self, ipa, data):
        """Copy bytes into guest RAM at `ipa`."""
        self._core.write(ipa, data)

    def read(self, ipa, n):
        return self._core.read(ipa, n)

    def load(self, image=None, address=None, size=None, kind=None):
        """Load the kernel: a path on the target's filesystem, bytes, or
        (image=None) `size` bytes the boot loader left at physical `address`
        (QEMU's -device loader, the Pi's config.txt initramfs line). Returns
        the guest_image.GuestImage (kind, entry, segments)."""
        if image is None:
            source = _PhysicalFile(address, size)
            img = guest_image.parse(source, self.ram, kind=kind)
            for segment_address, offset, file_size, _ in img.segments:
                self._core.copy_from_pa(segment_address, address + offset, file_size)
        else:
            source = open(image, "rb") if isinstance(image, str) else image
            try:
                img = guest_image.parse(source, self.ram, kind=kind)
                for segment_address, data in guest_image.chunks(source, img):
                    self._core.write(segment_address, data)
            finally:
                if source is not image:
                    source.close()
        self.entry = img.entry
        self._loads.append((self.load, (image, address, size, kind)))
        return img

    def load_initrd(self, image=None, address=None, size=None):
        """An initrd (a path, bytes, or `size` bytes the loader left at
        physical `address`), placed below the device tree. Returns its IPA."""
        if image is None:
            if address is None or size is None:
                raise ValueError("give the initrd (a path or bytes), or the address and size the loader put it at")
            n = size
        elif isinstance(image, str):
            import os
            n = os.stat(image)[6]
        else:
            n = len(image)
        ipa = (self._dtb_address() - n) & ~0xFFF
        if ipa < vm_layout.RAM_BASE + (16 << 20):
            raise ValueError("no room for a %d-byte initrd in %d MiB of RAM" % (n, self.ram >> 20))
        if image is None:
            self._core.copy_from_pa(ipa, address, size)
        elif isinstance(image, str):
            with open(image, "rb") as f:
                buf = bytearray(65536)
                done = 0
                while done < n:
                    got = f.readinto(buf)
                    self._core.write(ipa + done, memoryview(buf)[:got])
                    done += got
        else:
            self._core.write(ipa, image)
        self.initrd = (ipa, n)
        self._loads.append((self.load_initrd, (image, address, size)))
        return ipa

    # -- devices -----------------------------------------------------------

    def add_device(self, base, size, model, node=True, irq=None):
        """Trap guest accesses to [base, base + size) to `model` (a Device).
        irq: the SPI (INTID 32..127) its interrupt line drives (model.irq())."""
        end = base + size
        if base < vm_layout.RAM_BASE + self.ram and vm_layout.RAM_BASE < end:
            raise ValueError("0x%x..0x%x overlaps the guest's RAM" % (base, end))
        if self.vgic and base < vm_layout.GICC_BASE + vm_layout.GICC_SIZE and vm_layout.GICD_BASE < end:
            raise ValueError("0x%x..0x%x overlaps the interrupt controller" % (base, end))
        gicr_end = vm_layout.GICR_BASE + self.cpus * vm_layout.GICR_STRIDE
        if self.gic_version == 3 and base < gicr_end and vm_layout.GICR_BASE < end:
            raise ValueError("0x%x..0x%x overlaps the redistributors" % (base, end))
        for b, e, m, _ in self._devices:
            if base < e and b < end:
                raise ValueError("0x%x..0x%x overlaps %r at 0x%x" % (base, end, m, b))
        if irq is not None:
            if not self.vgic:
                raise ValueError("this VM has no virtual interrupt controller for irq=%r" % (irq,))
            if isinstance(irq, bool) or not isinstance(irq, int) or not 32 <= irq < 128:
                raise ValueError("irq must be an SPI, INTID 32..127, not %r" % (irq,))
            for _, _, m, _ in self._devices:
                if m.intid == irq:
                    raise ValueError("INTID %d is %r's already" % (irq, m))
            model.intid, model._line = irq, self._core.irq
        self._devices.append((base, end, model, node and model.compatible is not None))
        for offset, length in model.posted:
            self._core.post(base + offset, length)
        model._base, model._publish = base, self._core.publish
        model.added()
        return model

    def passthrough(self, base, size, pa=None, irq=None, compatible=None):
        """Map host MMIO [pa, pa + size) at guest address `base` (pa = base by
        default). irq: the device's physical SPI (INTID 32..127), forwarded
        to the guest under the same INTID: routed to vCPU 0's CPU, taken at
        EL2 and queued in a list register with the HW bit, so the guest's
        EOI deactivates the physical interrupt (no exit for it); GICv2 and
        GICv3 hosts. compatible: put a node for the device in the tree."""
        if irq is not None:
            if not self.vgic:
                raise ValueError("irq=: this VM has no virtual interrupt controller to forward it through")
            if isinstance(irq, bool) or not isinstance(irq, int) or not 32 <= irq < 128:
                raise ValueError("irq must be an SPI, INTID 32..127, not %r" % (irq,))
            for _, _, m, _ in self._devices:
                if m.intid == irq:
                    raise ValueError("INTID %d is %r's already" % (irq, m))
            if irq in self._forwarded:
                raise ValueError("INTID %d is forwarded already" % irq)
        self._core.map(base, base if pa is None else pa, size)
        if irq is not None:
            self._core.forward(irq, True)
            self._forwarded.append(irq)
        if compatible is not None:
            self._passthrough_nodes.append(("passthrough", base, size, compatible, irq))

    # -- the device tree ---------------------------------------------------

    def _dtb_address(self):
        return vm_layout.RAM_BASE + self.ram - DTB_MAX

    def tree(self):
        """The fdt.Tree the guest boots with (built from the configuration)."""
        nodes = [vm_devicetree.mmio_node(type(m).__name__.lower(), b, e - b, m.compatible, m.intid)
                 for b, e, m, in_tree in self._devices if in_tree]
        nodes += [vm_devicetree.mmio_node(*n) for n in self._passthrough_nodes]
        config = {"ram": self.ram, "cpus": self.cpus, "psci": self.psci, "cmdline": self.cmdline,
                  "extra_nodes": nodes, "gic": self.gic_version}
        if self.initrd:
            config["initrd_start"], config["initrd_size"] = self.initrd
        return vm_devicetree.build(config)

    def dtb(self):
        return self.tree().dtb()

    def dts(self):
        return self.tree().dts()

    # -- running -----------------------------------------------------------

    def run(self, timeout_ms=None, console=True):
        """Run until the VM stops; returns a VmStop. With `console`, what is
        typed goes to the guest (Ctrl-C too) and Ctrl-] pauses; run() again
        resumes. timeout_ms pauses it after that long."""
        if self.stopped is not None:
            raise ValueError("the VM has stopped (%r): make a new one" % (self.stopped,))
        if not self._started:
            if self.entry is None:
                raise ValueError("nothing to run: load() a kernel first")
            self._boot()
        if console:
            micropython.kbd_intr(-1)    # Ctrl-C is for the guest
        try:
            return self._loop(timeout_ms, console)
        except KeyboardInterrupt:
            self._pause()
            raise
        finally:
            if console:
                micropython.kbd_intr(3)
            self.uart.flush()

    def _boot(self):
        # vCPU 0 at the kernel's entry with the tree in x0, as booting.rst says.
        blob = self.dtb()
        if len(blob) > DTB_MAX:
            raise ValueError("the device tree is %d bytes, more than 2 MiB" % len(blob))
        core = self._core
        core.write(self._dtb_address(), blob)
        core.reset(0, self.entry, self._dtb_address())
        core.power(0, POWER_ON)
        self._started = True
        self._pending[0] = None         # start it

    def _restart(self):
        # SYSTEM_RESET: the machine as at power-on (RAM zeroed, the images
        # loaded again from where they came from, interrupts reset), booted again.
        self._stop_all()
        self._pending.clear()
        core = self._core
        core.reset_irqs()
        for _, _, model, _ in self._devices:
            model._level = False
        for i in range(self.cpus):
            core.power(i, POWER_OFF)
        core.zero(vm_layout.RAM_BASE, self.ram)
        loads, self._loads = self._loads, []
        for fn, args in loads:
            fn(*args)
        self.resets += 1
        self._boot()
        del self._pending[0]
        self._start(0)

    def _loop(self, timeout_ms, console):
        core = self._core
        for i, pending in list(self._pending.items()):
            del self._pending[i]
            stop = self._start(i) if pending is None else self._handle(i, pending)
            if stop:
                return stop
        deadline = None if timeout_ms is None else time.ticks_add(time.ticks_ms(), timeout_ms)
        handled = 0
        wait, exit = core.wait, self._exit
        while True:
            # Loads and stores to device models are answered inside wait().
            i = wait(100, console, exit)
            if i >= 0:
                stop = self._handle(i, exit)
                if stop:
                    return stop
                handled += 1
                if handled & 63:
                    continue            # the console and the clock now and then, not per exit
            self.uart.flush()
            if i == -2:
                data = sys.stdin.buffer.read(1)
                if data[0] == ESCAPE:
                    self._pause()
                    return VmStop("paused", message="Ctrl-]: run() resumes it")
                self.uart.feed(data)
            if deadline is not None and time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                self._pause()
                return VmStop("timeout", message="run() resumes it")

    def _start(self, i):
        self._core.start(i)

    def _handle(self, i, exit):
        kind, a, b, c, d = exit
        core = self._core
        if kind == _EXIT_MMIO:
            return self._mmio(i, a, b, c, d)
        if kind == _vm.EXIT_DEVICE_ERROR:
            for base, end, model, _ in self._devices:
                if base <= a < end:
                    return self._fault(i, "device %r at 0x%x raised %r" % (model, base, d))
        if kind == _vm.EXIT_PSCI:
            return self._psci(i, a & 0xFFFF_FFFF, b, c, d)
        if kind == _vm.EXIT_STOPPED:
            self._pending[i] = None     # paused: start it again on resume
            return None
        if kind == _vm.EXIT_DISABLED:
            return self._fault(i, "virtualization was disabled on CPU %d" % self.cpu_ids[i])
        esr = core.reg(i, 33)
        ec = esr >> 26
        ipa = None
        if ec in (0x20, 0x24):          # instruction or data abort from the guest
            ipa = (core.reg(i, 35) & 0xFFFFFFFFFF0) << 8 | core.reg(i, 34) & 0xFFF
        if ec == 0x20:
            message = "instruction fetch from IPA 0x%x: no RAM there" % ipa
        elif ec == 0x24 and not esr & (1 << 24):
            message = ("an access at IPA 0x%x the hypervisor cannot emulate: the instruction "
                       "gives no syndrome (a load/store pair, or with writeback)" % ipa)
        else:
            message = "an exit the VM does not handle (%s)" % sysregs.ec_name(esr)
        return self._fault(i, message, ipa)

    def _mmio(self, i, ipa, width, write, value):
        # core.wait() calls the models itself; what comes here is an access
        # with no model, or one kept while the VM was paused.
        for base, end, model, _ in self._devices:
            if base <= ipa < end:
                try:
                    if write:
                        model.write(ipa - base, width, value)
                        value = 0
                    else:
                        value = model.read(ipa - base, width) & _U64
                except Exception as e:
                    return self._fault(i, "device %r at 0x%x raised %r" % (model, base, e))
                self._core.resume(i, value)
                return None
        return self._fault(i, "%s of %d bytes at IPA 0x%x: no RAM or device there"
                           % ("write" if write else "read", width, ipa), ipa=ipa)

    def _psci(self, i, fn, x1, x2, x3):
        core = self._core
        if fn in PSCI_CPU_ON:
            ret = self._cpu_on(x1 if fn == PSCI_CPU_ON[1] else x1 & 0xFFFF_FFFF, x2, x3)
            core.resume(i, ret & _U64)
            return None
        if fn == PSCI_CPU_OFF:
            core.power(i, POWER_OFF)    # it stays out until a CPU_ON
            return None
        if fn == PSCI_SYSTEM_RESET and self.on_reset == "restart":
            self._restart()
            return None
        if fn in (PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET):
            self._stop_all()
            self.stopped = VmStop("system_off" if fn == PSCI_SYSTEM_OFF else "reset", vcpu=i,
                                  status=x1 if fn == PSCI_SYSTEM_OFF else None)
            return self.stopped
        core.resume(i, PSCI_NOT_SUPPORTED & _U64)
        return None

    def _cpu_on(self, mpidr, entry, context):
        mpidr &= 0xFF_00FF_FFFF
        if mpidr not in self.mpidrs:
            return PSCI_INVALID_PARAMETERS
        j = self.mpidrs.index(mpidr)
        state = self._core.power(j)
        if state == POWER_ON:
            return PSCI_ALREADY_ON
        if state != POWER_OFF or self._core.state(j) not in (0, 3):
            return PSCI_ON_PENDING
        if not vm_layout.RAM_BASE <= entry < vm_layout.RAM_BASE + self.ram or entry & 3:
            return PSCI_INVALID_ADDRESS
        self._core.reset(j, entry, context)
        self._core.power(j, POWER_ON)
        self._core.start(j)
        return PSCI_SUCCESS

    def _fault(self, i, message, ipa=None):
        core = self._core
        self._stop_all()
        self.stopped = VmStop("fault", vcpu=i, esr=core.reg(i, 33), elr=core.reg(i, 31),
                              far=core.reg(i, 34), ipa=ipa, message=message)
        return self.stopped

    def _stop_all(self):
        """Every vCPU out of its guest; exits that arrive meanwhile are kept."""
        core = self._core
        running = [i for i in range(self.cpus) if core.state(i) in (1, 2)]
        for i in range(self.cpus):
            core.stop(i)                # also one whose exit is still to come: wait() leaves it to us
        exit = self._exit
        # A stop request reaches a running guest at once on hardware; QEMU on a
        # busy host (raspi4b in particular) has taken more than a second.
        waited = 0
        while running:
            i = core.wait(1000, False, exit)
            if i < 0:
                waited += 1
                if waited < 10:
                    continue
                raise OSError("vCPUs %r did not stop within 10 s" % running)
            if i in running:
                running.remove(i)
            # Stopped: it starts again on resume; any other exit is handled then.
            self._pending[i] = None if exit[0] == _vm.EXIT_STOPPED else list(exit)

    def _pause(self):
        self._stop_all()
        self.uart.flush()

    def regs(self, i=0):
        """vCPU i's x0..x30 and pc (while it is stopped)."""
        return [self._core.reg(i, n) for n in range(32)]

    def guest_hcr(self, i=0):
        """The HCR_EL2 vCPU i last ran with: the host's value plus the bits
        each vCPU sets on entry (VM, RW, TSC, IMO, FMO; TTLB while it is the
        only vCPU on), whichever routing pcpu enabled its CPU with. 0 before
        its first entry."""
        return self._core.reg(i, 36)

    @property
    def stage2_block(self):
        """The largest stage-2 block its RAM is mapped with, in bytes: the
        board's default (STAGE2_BLOCK) unless VM(stage2_block=) said."""
        return self._core.stage2_block

    def vgic_state(self):
        """The virtual GIC's state (a dict; None without one): the
        distributor's enables, pending and active SPIs (bit n: INTID n),
        their targets, and per vCPU its private interrupts, list registers
        and counts of interrupts injected and EOI maintenance exits."""
        return self._core.vgic()

    def close(self):
        """Stop the guest and give back its RAM and CPUs."""
        if self._core is not None:
            self._core.close()
            self._core = None
            self._disable()

    def _disable(self):
        for p in self._enabled:
            p.hardware_disable()
        self._enabled = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _PhysicalFile:
    """What the boot loader left in physical memory, as a read-only file for
    guest_image.parse(), which reads only the headers (through the firmware's
    guarded access: a bad address is an aarch64.Fault)."""

    def __init__(self, address, size):
        if address is None or size is None:
            raise ValueError("give an image (a path or bytes), or the address and size the loader put it at")
        self.address, self.size, self.pos = address, size, 0

    def seek(self, offset, whence=0):
        self.pos = offset if whence == 0 else self.size + offset if whence == 2 else self.pos + offset
        return self.pos

    def tell(self):
        return self.pos

    def read(self, n):
        import machine
        n = max(0, min(n, self.size - self.pos))
        out = bytes([machine.mem8[self.address + self.pos + k] for k in range(n)])
        self.pos += n
        return out
