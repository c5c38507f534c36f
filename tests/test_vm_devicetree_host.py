"""firmware/vm_devicetree.py in CPython: the VM's tree, read by dtc and
compared property by property with the tree QEMU virt itself generates."""
import pytest

from host_tools.target import fdt, vm_devicetree, vm_layout
from devicetree_tools import by_phandle, dtc, flat, qemu_virt_dtb

RAM = 512 << 20
CMDLINE = "console=ttyAMA0 earlycon root=/dev/ram0"


def config(cpus=2, gic=2, initrd=None, **more):
    c = {"ram": RAM, "cpus": cpus, "gic": gic, "cmdline": CMDLINE}
    if initrd:
        c["initrd_start"], c["initrd_size"] = initrd
    c.update(more)
    return c


@pytest.mark.parametrize("gic", [2, 3])
@pytest.mark.parametrize("cpus", [1, 2, 4])
@pytest.mark.parametrize("initrd", [None, (0x4800_0000, 0x12_3456)])
def test_the_tree_dtc_reads(tmp_path, cpus, gic, initrd):
    blob = vm_devicetree.build(config(cpus, gic, initrd)).dtb()
    text, warnings = dtc(blob, tmp_path)
    assert warnings == ""
    t = fdt.parse(blob)
    assert t.strings("compatible") == ["linux,dummy-virt"]
    assert t.cells("#address-cells") == [2] and t.cells("#size-cells") == [2]
    assert t.find("/memory@40000000").cells("reg") == [0, 0x4000_0000, 0, RAM]
    cpu_nodes = t.find("/cpus").children
    assert [n.name for n in cpu_nodes] == ["cpu@%d" % i for i in range(cpus)]
    for i, n in enumerate(cpu_nodes):
        assert n.cells("reg") == [i]
        assert n.string("enable-method") == "psci" and n.string("device_type") == "cpu"
    assert t.find("/psci").string("method") == "hvc"
    timer_flags = 4 | (((1 << cpus) - 1) << 8 if gic == 2 else 0)
    assert t.find("/timer").cells("interrupts") == [1, 13, timer_flags, 1, 14, timer_flags,
                                                    1, 11, timer_flags, 1, 10, timer_flags]
    gic_node = t.find("/intc@8000000")
    if gic == 2:
        assert gic_node.string("compatible") == "arm,cortex-a15-gic"
        assert gic_node.cells("reg") == [0, 0x0800_0000, 0, 0x1_0000, 0, 0x0801_0000, 0, 0x1_0000]
    else:
        assert gic_node.string("compatible") == "arm,gic-v3"
        assert gic_node.cells("reg") == [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080A_0000, 0, cpus * 0x2_0000]
    assert by_phandle(t, t.number("interrupt-parent")) == "/intc@8000000"
    chosen = t.find("/chosen")
    assert chosen.string("bootargs") == CMDLINE
    assert chosen.string("stdout-path") == "/pl011@9000000"
    if initrd:
        assert chosen.number("linux,initrd-start") == initrd[0]
        assert chosen.number("linux,initrd-end") == initrd[0] + initrd[1]
        assert "\t\tlinux,initrd-end = <0x00 0x48123456>;" in text.splitlines()
    else:
        assert not chosen.has("linux,initrd-start") and not chosen.has("linux,initrd-end")


def test_more_than_eight_cpus_use_gicv3_clusters():
    t = fdt.parse(vm_devicetree.build(config(cpus=20, gic=3)).dtb())
    regs = [n.cells("reg")[0] for n in t.find("/cpus").children]
    assert regs == list(range(16)) + [0x100, 0x101, 0x102, 0x103]
    assert [vm_layout.mpidr_affinity(i, 3) for i in range(20)] == regs


# -- against QEMU virt's own tree ---------------------------------------------

def same(ours, theirs, path, names):
    a, b = flat(ours)[path], flat(theirs)[path]
    for name in names:
        assert name in b, "QEMU's %s has no %s" % (path, name)
        assert a.get(name) == b[name], "%s %s: ours %r, QEMU's %r" % (path, name, a.get(name), b[name])


def resolve(tree, path, name):
    return [by_phandle(tree, ph) for ph in tree.find(path).cells(name)]


@pytest.mark.parametrize("gic, cpus", [(2, 1), (2, 2), (2, 4), (3, 4)])
def test_matches_qemu_virt(tmp_path, gic, cpus):
    initrd_size = 0x3E8
    qemu = fdt.parse(qemu_virt_dtb(tmp_path, gic=gic, smp=cpus, ram_mb=RAM >> 20,
                                   cmdline=CMDLINE, initrd_size=initrd_size))
    start = qemu.find("/chosen").number("linux,initrd-start")
    ours = fdt.parse(vm_devicetree.build(config(cpus, gic, (start, initrd_size), psci="smc")).dtb())

    same(ours, qemu, "/", ["#address-cells", "#size-cells", "compatible", "model"])
    same(ours, qemu, "/memory@40000000", ["device_type", "reg"])
    same(ours, qemu, "/cpus", ["#address-cells", "#size-cells"])
    assert [n.name for n in ours.find("/cpus").children] == \
        [n.name for n in qemu.find("/cpus").children if n.name.startswith("cpu@")]
    for i in range(cpus):
        # QEMU names no enable-method for a lone CPU; ours always does (harmless).
        same(ours, qemu, "/cpus/cpu@%d" % i, ["device_type", "compatible", "reg"]
             + (["enable-method"] if cpus > 1 else []))
    same(ours, qemu, "/psci", ["method"])
    # QEMU adds the legacy "arm,psci" binding (with its function IDs); we do not.
    assert ours.find("/psci").strings("compatible") == qemu.find("/psci").strings("compatible")[:2]
    same(ours, qemu, "/timer", ["compatible", "interrupts", "always-on"])
    gic_path = "/intc@8000000"
    same(ours, qemu, gic_path, ["compatible", "#interrupt-cells", "interrupt-controller",
                                "#address-cells", "#size-cells", "ranges"])
    ours_reg, qemu_reg = ours.find(gic_path).cells("reg"), qemu.find(gic_path).cells("reg")
    if gic == 2:
        assert ours_reg == qemu_reg[:8]     # GICD, GICC (QEMU adds GICH, GICV for its EL2)
    else:
        same(ours, qemu, gic_path, ["#redistributor-regions"])
        assert ours_reg[:6] == qemu_reg[:6]  # GICD and the redistributors' base
        assert ours_reg[6:] == [0, cpus * vm_layout.GICR_STRIDE]  # QEMU: its whole region
    assert by_phandle(ours, ours.number("interrupt-parent")) == gic_path
    assert by_phandle(qemu, qemu.number("interrupt-parent")) == gic_path
    same(ours, qemu, "/pl011@9000000", ["compatible", "reg", "interrupts", "clock-names"])
    assert resolve(ours, "/pl011@9000000", "clocks") == resolve(qemu, "/pl011@9000000", "clocks") \
        == ["/apb-pclk", "/apb-pclk"]
    same(ours, qemu, "/apb-pclk", ["compatible", "#clock-cells", "clock-frequency", "clock-output-names"])
    same(ours, qemu, "/aliases", ["serial0"])
    same(ours, qemu, "/chosen", ["bootargs", "stdout-path", "linux,initrd-start", "linux,initrd-end"])


# -- extra nodes and editing ----------------------------------------------------

def test_extra_nodes_as_nodes_and_functions(tmp_path):
    virtio = vm_devicetree.mmio_node("virtio_mmio", 0x0A00_0000, 0x200, "virtio,mmio", intid=48)

    def add_rtc(tree):
        tree.attach(vm_devicetree.mmio_node("pl031", 0x0901_0000, 0x1000,
                                            ["arm,pl031", "arm,primecell"], intid=34))
        clock = tree.find("/apb-pclk")
        tree.find("/pl031").set("clocks", clock).set("clock-names", "apb_pclk")

    t = vm_devicetree.build(config(extra_nodes=[virtio, add_rtc]))
    blob = t.dtb()
    assert dtc(blob, tmp_path)[1] == ""
    p = fdt.parse(blob)
    v = p.find("/virtio_mmio@a000000")
    assert v.cells("reg") == [0, 0x0A00_0000, 0, 0x200] and v.cells("interrupts") == [0, 16, 4]
    assert resolve(p, "/pl031@9010000", "clocks") == ["/apb-pclk"]
    assert p.find("/pl031").cells("interrupts") == [0, 2, 4]


def test_the_tree_stays_editable():
    t = vm_devicetree.build(config())
    t.find("/chosen").set("rng-seed", b"\x01" * 32)
    assert fdt.parse(t.dtb()).find("/chosen").raw("rng-seed") == b"\x01" * 32


def test_same_config_same_bytes():
    assert vm_devicetree.build(config(4, 3)).dtb() == vm_devicetree.build(config(4, 3)).dtb()


@pytest.mark.parametrize("bad, message", [
    ({"cpus": 0}, "cpus must be an int in 1..8"),
    ({"cpus": 9}, "cpus must be an int in 1..8"),
    ({"cpus": 124, "gic": 3}, "cpus must be an int in 1..123"),
    ({"cpus": "2"}, "cpus must be an int"),
    ({"ram": 0}, "ram must be an int"),
    ({"ram": (512 << 20) + 1}, "multiple of 4 KiB"),
    ({"ram": None}, "ram must be an int"),
    ({"gic": 4}, "gic must be 2 or 3"),
    ({"psci": "svc"}, "psci must be 'hvc' or 'smc'"),
    ({"cmdline": "a\0b"}, "without NUL"),
    ({"cmdline": "x" * 2048}, "at most 2047"),
    ({"initrd_start": 0x4800_0000}, "both initrd_start and initrd_size"),
    ({"initrd_start": 0x3000_0000, "initrd_size": 16}, "lies outside RAM"),
    ({"initrd_start": 0x5FFF_F000, "initrd_size": 0x2000}, "lies outside RAM"),
    ({"initrd_start": 0x4800_0000, "initrd_size": 0}, "initrd_size must be"),
    ({"cpu": 2}, "unknown VM configuration key 'cpu'"),
    ({"extra_nodes": [42]}, "neither an fdt.Node nor a function"),
    ({"extra_nodes": fdt.Node("x")}, "must be a list"),
])
def test_bad_configurations(bad, message):
    c = config()
    c.update(bad)
    with pytest.raises(ValueError, match=message):
        vm_devicetree.build(c)


def test_a_config_is_a_dict():
    with pytest.raises(ValueError, match="is a dict"):
        vm_devicetree.build([("ram", RAM)])


@pytest.mark.parametrize("call, message", [
    (lambda: vm_devicetree.spi(31), "not an SPI"),
    (lambda: vm_devicetree.ppi(32, 1, 2), "not a PPI"),
])
def test_bad_interrupt_numbers(call, message):
    with pytest.raises(ValueError, match=message):
        call()
