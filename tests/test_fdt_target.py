"""fdt, vm_devicetree and guest_image on the target: MicroPython gives the
same blobs, text and image descriptions as CPython does for the same input."""
import struct

import pytest

from host_tools import TargetError
from host_tools.target import fdt, guest_image, vm_devicetree

CONFIGS = [
    {"ram": 128 << 20, "cpus": 1},
    {"ram": 512 << 20, "cpus": 2, "psci": "smc", "cmdline": "console=ttyAMA0 earlycon",
     "initrd_start": 0x4800_0000, "initrd_size": 0x12_3456},
    {"ram": 1 << 30, "cpus": 4, "gic": 3, "cmdline": "console=ttyAMA0 rdinit=/bin/sh",
     "initrd_start": 0x7000_0000, "initrd_size": 16 << 20},
    {"ram": 3 << 30, "cpus": 8, "cmdline": "quiet " * 300},
]

# Run as it is on both sides: extra nodes (a Node and a function), an edit, a reservation.
SNIPPET = """
def add_rtc(tree):
    tree.attach(vm_devicetree.mmio_node("pl031", 0x9010000, 0x1000, ["arm,pl031", "arm,primecell"], 34))
    tree.find("/pl031").set("clocks", tree.find("/apb-pclk")).set("clock-names", "apb_pclk")
virtio = vm_devicetree.mmio_node("virtio_mmio", 0xa000000, 0x200, "virtio,mmio", 48)
t = vm_devicetree.build({"ram": 256 << 20, "cpus": 2, "extra_nodes": [virtio, add_rtc]})
t.find("/chosen").set("rng-seed", bytes(range(32)))
t.reserve(0x4ff00000, 0x100000)
"""

# Every node's properties as (path, [(name, raw bytes)]), on either side.
WALK = """
def walk(node, out):
    out.append((node.path(), [(p, node.raw(p)) for p in node.prop_names()]))
    for c in node.children:
        walk(c, out)
    return out
"""


def host_walk(tree):
    ns = {}
    exec(WALK, ns)
    return ns["walk"](tree, [])


@pytest.mark.parametrize("config", CONFIGS, ids=["1cpu", "2cpus-initrd-smc", "4cpus-gicv3-initrd", "8cpus-long-cmdline"])
def test_the_vm_tree_is_the_blob_cpython_builds(target, config):
    target.exec("import vm_devicetree\nt = vm_devicetree.build(%r)" % config)
    ours = vm_devicetree.build(config)
    assert target.eval("t.dtb()") == ours.dtb()
    assert target.eval("t.dts()") == ours.dts()


def test_extra_nodes_and_edits_give_the_same_blob(target):
    host = {"vm_devicetree": vm_devicetree, "fdt": fdt}
    exec(SNIPPET, host)
    target.exec("import vm_devicetree, fdt\n" + SNIPPET)
    blob = target.eval("t.dtb()")
    assert blob == host["t"].dtb()
    assert fdt.parse(blob).find("/pl031@9010000").cells("interrupts") == [0, 2, 4]


def test_the_reader_on_the_target(target):
    blob = vm_devicetree.build(CONFIGS[2]).dtb()
    target.exec("import fdt\n" + WALK + "p = fdt.parse(%r)" % blob)
    assert target.eval("walk(p, [])") == host_walk(fdt.parse(blob))
    assert target.eval("p.find('/chosen').number('linux,initrd-end')") == 0x7100_0000
    assert target.eval("p.dtb()") == blob


def value_error(target, code, message):
    """Run code on the target; assert it raises a ValueError saying `message`."""
    with pytest.raises(TargetError) as e:
        target.exec(code)
    assert e.value.type == "ValueError" and message in e.value.message, e.value


def test_bad_input_is_a_valueerror_on_the_target_too(target):
    target.exec("import fdt, vm_devicetree")
    value_error(target, "fdt.Tree().add('my node')", "node name 'my node'")
    value_error(target, "vm_devicetree.build({'ram': 256 << 20, 'cpus': 9})", "cpus must be an int in 1..8")
    value_error(target, "fdt.Tree().add('a').set('x', 1.5)", "unsupported value 1.5")
    value_error(target, "fdt.parse(b'\\x00' * 64)", "magic 0x00000000")
    assert target.eval("1 + 1") == 2       # and the REPL goes on


def linux_image(flags=0xA, body=3000):
    header = struct.pack("<IIQQQQQQ4sI", 0x91005A4D, 0x14000000, 0x8_0000, 20 << 20, flags, 0, 0, 0, b"ARM\x64", 0)
    return header + bytes([i & 0xFF for i in range(body)])


def described(img):
    return [img.kind, img.entry, img.segments, img.file_size, img.page_size, img.anywhere]


DESCRIBE = "[img.kind, img.entry, img.segments, img.file_size, img.page_size, img.anywhere]"


def test_an_image_from_a_file_on_the_target(target):
    data = linux_image()
    expected = described(guest_image.parse(data, 256 << 20))
    target.exec("import guest_image\nwith open('/Image', 'wb') as f:\n f.write(%r)" % data)
    target.exec("f = open('/Image', 'rb')\nimg = guest_image.parse(f, 256 << 20)")
    assert target.eval(DESCRIBE) == expected
    # The copy through chunks() lands the file's bytes at the entry.
    target.exec("ram = bytearray(img.end() - 0x40000000)\n"
                "for a, d in guest_image.chunks(f, img, 1024):\n"
                " ram[a - 0x40000000:a - 0x40000000 + len(d)] = d\n"
                "f.close()")
    assert target.eval("bytes(ram[0x80000:0x80000 + %d])" % len(data)) == data
    assert target.eval("bytes(ram[:0x80000]) == bytes(0x80000)") is True


def test_an_elf_and_errors_on_the_target(target):
    elf = bytearray(64 + 56 + 8)
    elf[:7] = b"\x7fELF\x02\x01\x01"
    elf[16:64] = struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x4010_0004, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    elf[64:120] = struct.pack("<IIQQQQQQ", 1, 5, 120, 0x4010_0000, 0x4010_0000, 8, 0x100, 8)
    elf = bytes(elf)
    target.exec("import guest_image\nimg = guest_image.parse(%r, 256 << 20)" % elf)
    assert target.eval(DESCRIBE) == described(guest_image.parse(elf, 256 << 20))
    value_error(target, "guest_image.parse(%r, 256 << 20)" % linux_image(flags=0xB), "big-endian Linux Image")
    value_error(target, "guest_image.parse(%r, 256 << 20)" % elf.replace(b"\xb7\x00", b"\x28\x00", 1),
                "machine 40, not AArch64")
