"""The device tree a VM's guest boots with, built from the VM's configuration.
It mirrors what QEMU virt generates for the same machine (vm_layout has the
addresses), so a kernel built for virt accepts it.

    import vm_devicetree
    tree = vm_devicetree.build({"ram": 512 << 20, "cpus": 2, "cmdline": "console=ttyAMA0",
                                "initrd_start": 0x4800_0000, "initrd_size": 1 << 20})
    blob = tree.dtb()           # bytes for the guest's x0
    print(tree.dts())
    tree.find("/chosen").set("rng-seed", seed)      # the tree stays editable

Configuration keys (a dict; unknown keys are a ValueError):
    ram             RAM size in bytes, a multiple of 4 KiB (required); RAM starts at vm_layout.RAM_BASE
    cpus            vCPUs, 1 by default (at most 8 with GICv2)
    gic             2 (GICv2, the default) or 3 (GICv3)
    psci            PSCI conduit, "hvc" (the default) or "smc"
    cmdline         the kernel command line ("" by default)
    initrd_start, initrd_size   the initrd's place in RAM, both or neither
    extra_nodes     a list of fdt.Node (attached under the root) or functions
                    called with the tree, to add device nodes (see mmio_node)
"""
try:
    from . import fdt, vm_layout        # the host imports firmware/ as host_tools.target
except ImportError:
    import fdt                          # the target: frozen top-level modules
    import vm_layout

# Interrupt specifier cells of the arm,gic binding: <type number flags>.
GIC_SPI, GIC_PPI = 0, 1
IRQ_EDGE_RISING, IRQ_LEVEL_HIGH = 1, 4
COMMAND_LINE_SIZE = 2048            # arm64 Linux's limit, the NUL included

DEFAULTS = (("ram", None), ("cpus", 1), ("gic", 2), ("psci", "hvc"), ("cmdline", ""),
            ("initrd_start", None), ("initrd_size", None), ("extra_nodes", ()))

UART_PATH = "/pl011@%x" % vm_layout.UART_BASE


def spi(intid, flags=IRQ_LEVEL_HIGH):
    """Interrupt specifier cells for shared peripheral interrupt `intid` (32..1019)."""
    if not 32 <= intid < 1020:
        raise ValueError("INTID %r is not an SPI (32..1019)" % (intid,))
    return [GIC_SPI, intid - 32, flags]


def ppi(intid, cpus, gic_version, flags=IRQ_LEVEL_HIGH):
    """Interrupt specifier cells for private peripheral interrupt `intid`
    (16..31). GICv2 specifiers carry the mask of CPUs it is wired to."""
    if not 16 <= intid < 32:
        raise ValueError("INTID %r is not a PPI (16..31)" % (intid,))
    if gic_version == 2:
        flags |= ((1 << cpus) - 1) << 8
    return [GIC_PPI, intid - 16, flags]


def mmio_node(name, base, size, compatible, intid=None):
    """A device node name@base with reg, compatible and, for an SPI, interrupts:
    what a memory-mapped device model needs. Attach it through extra_nodes."""
    node = fdt.Node("%s@%x" % (name, base))
    node.set("compatible", compatible)
    node.set("reg", [fdt.u64(base), fdt.u64(size)])
    if intid is not None:
        node.set("interrupts", spi(intid))
    return node


def _config(config):
    if not isinstance(config, dict):
        raise ValueError("the VM configuration is a dict, not %r" % (config,))
    known = [k for k, _ in DEFAULTS]
    for k in config:
        if k not in known:
            raise ValueError("unknown VM configuration key %r (known: %s)" % (k, ", ".join(known)))
    c = {}
    for k, default in DEFAULTS:
        c[k] = config.get(k, default)
    return c


def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError("%s must be an int in %d..%d, not %r" % (name, low, high, value))


def _validate(c):
    _check_int("ram", c["ram"], 4096, vm_layout.RAM_MAX)
    if c["ram"] % 4096:
        raise ValueError("ram must be a multiple of 4 KiB, not %d" % c["ram"])
    if c["gic"] not in (2, 3):
        raise ValueError("gic must be 2 or 3, not %r" % (c["gic"],))
    if c["gic"] == 2:
        max_cpus = vm_layout.GICV2_MAX_CPUS
    else:
        max_cpus = vm_layout.GICR_REGION_SIZE // vm_layout.GICR_STRIDE
    _check_int("cpus", c["cpus"], 1, max_cpus)
    if c["psci"] not in ("hvc", "smc"):
        raise ValueError("psci must be 'hvc' or 'smc', not %r" % (c["psci"],))
    cmdline = c["cmdline"]
    if not isinstance(cmdline, str) or "\0" in cmdline:
        raise ValueError("cmdline must be a str without NUL characters, not %r" % (cmdline,))
    if len(cmdline.encode()) >= COMMAND_LINE_SIZE:
        raise ValueError("cmdline is %d bytes; Linux takes at most %d"
                         % (len(cmdline.encode()), COMMAND_LINE_SIZE - 1))
    start, size = c["initrd_start"], c["initrd_size"]
    if (start is None) != (size is None):
        raise ValueError("give both initrd_start and initrd_size, or neither")
    if start is not None:
        ram_end = vm_layout.RAM_BASE + c["ram"]
        _check_int("initrd_size", size, 1, c["ram"])
        _check_int("initrd_start", start, 0, 2 ** 64 - 1)
        if start < vm_layout.RAM_BASE or start + size > ram_end:
            raise ValueError("initrd 0x%x..0x%x lies outside RAM 0x%x..0x%x"
                             % (start, start + size, vm_layout.RAM_BASE, ram_end))
    extra = c["extra_nodes"]
    if not isinstance(extra, (list, tuple)):
        raise ValueError("extra_nodes must be a list of fdt.Node or functions, not %r" % (extra,))
    for item in extra:
        if not isinstance(item, fdt.Node) and not callable(item):
            raise ValueError("extra_nodes: %r is neither an fdt.Node nor a function" % (item,))


def build(config):
    """The fdt.Tree for a VM with this configuration (see the module docstring)."""
    c = _config(config)
    _validate(c)
    cpus, gic_version = c["cpus"], c["gic"]

    t = fdt.Tree()
    t.set("#address-cells", 2).set("#size-cells", 2)
    t.set("compatible", "linux,dummy-virt").set("model", "linux,dummy-virt")

    chosen = t.add("chosen")
    chosen.set("bootargs", c["cmdline"]).set("stdout-path", UART_PATH)
    if c["initrd_start"] is not None:
        chosen.set("linux,initrd-start", fdt.u64(c["initrd_start"]))
        chosen.set("linux,initrd-end", fdt.u64(c["initrd_start"] + c["initrd_size"]))
    t.add("aliases").set("serial0", UART_PATH)

    t.add("memory@%x" % vm_layout.RAM_BASE).set("device_type", "memory").set(
        "reg", [fdt.u64(vm_layout.RAM_BASE), fdt.u64(c["ram"])])

    _cpus(t, cpus, gic_version)
    t.add("psci").set("compatible", ["arm,psci-1.0", "arm,psci-0.2"]).set("method", c["psci"])

    timer = t.add("timer")
    timer.set("compatible", ["arm,armv8-timer", "arm,armv7-timer"])
    interrupts = []
    for intid in vm_layout.TIMER_INTIDS:
        interrupts.extend(ppi(intid, cpus, gic_version))
    timer.set("interrupts", interrupts).set("always-on", True)

    gic = _gic(t, cpus, gic_version)
    t.set("interrupt-parent", gic)

    clock = t.add("apb-pclk")
    clock.set("compatible", "fixed-clock").set("#clock-cells", 0)
    clock.set("clock-frequency", vm_layout.APB_CLOCK_HZ).set("clock-output-names", "clk24mhz")
    uart = t.attach(mmio_node("pl011", vm_layout.UART_BASE, vm_layout.UART_SIZE,
                              ["arm,pl011", "arm,primecell"], vm_layout.UART_INTID))
    uart.set("clocks", [clock, clock]).set("clock-names", ["uartclk", "apb_pclk"])

    for item in c["extra_nodes"]:
        if isinstance(item, fdt.Node):
            t.attach(item)
        else:
            item(t)
    return t


def _cpus(t, count, gic_version):
    node = t.add("cpus")
    node.set("#address-cells", 1).set("#size-cells", 0)     # no Aff3: one cell holds an MPIDR
    for i in range(count):
        aff = vm_layout.mpidr_affinity(i, gic_version)
        cpu = node.add("cpu@%x" % aff)
        cpu.set("device_type", "cpu").set("compatible", "arm,cortex-a72")
        cpu.set("reg", aff).set("enable-method", "psci")


def _gic(t, cpus, gic_version):
    node = t.add("intc@%x" % vm_layout.GICD_BASE)
    if gic_version == 2:
        node.set("compatible", "arm,cortex-a15-gic")
        reg = [vm_layout.GICD_BASE, vm_layout.GICD_SIZE, vm_layout.GICC_BASE, vm_layout.GICC_SIZE]
    else:
        # One redistributor per vCPU: the region the VM emulates, not all of
        # virt's room for 123 (QEMU's tree gives the whole region).
        node.set("compatible", "arm,gic-v3").set("#redistributor-regions", 1)
        reg = [vm_layout.GICD_BASE, vm_layout.GICD_SIZE, vm_layout.GICR_BASE, cpus * vm_layout.GICR_STRIDE]
    node.set("reg", [fdt.u64(v) for v in reg])
    node.set("#interrupt-cells", 3).set("interrupt-controller", True)
    # As QEMU's: room for frame children (GICv2m, ITS) and the parent address
    # cells that an interrupt-map copied from QEMU's tree carries.
    node.set("#address-cells", 2).set("#size-cells", 2).set("ranges", True)
    return node
