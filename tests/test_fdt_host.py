"""firmware/fdt.py in CPython: blobs that dtc reads back as written, the
reader, the printer, and the errors."""
import struct

import pytest

from host_tools.target import fdt
from devicetree_tools import dtc, dtc_compile, flat, qemu_virt_dtb


def sample():
    """A tree with every kind of value, references and a reservation."""
    t = fdt.Tree()
    t.set("#address-cells", 2).set("#size-cells", 2).set("compatible", "test,board")
    clk = t.add("clk").set("compatible", "fixed-clock").set("#clock-cells", 0)
    dev = t.add("dev@9000000")
    dev.set("reg", [fdt.u64(0x0900_0000), fdt.u64(0x1000)])
    dev.set("compatible", ["vendor,dev", "vendor,generic"])
    dev.set("#address-cells", 1).set("#size-cells", 1)
    dev.set("clocks", [clk, clk])
    dev.set("big", fdt.u64(0x1234_5678_9ABC_DEF0))
    dev.set("mac", b"\x02\x00\x5e\x10\x00\x01")
    dev.set("dma-coherent", True)
    dev.set("label", 'say "hi" \\ bye')
    dev.add("child@0").set("reg", [0, 4]).set("link", clk)
    t.reserve(0x4800_0000, 0x2000)
    t.reserve(0x1_0000_0000, 0x10)
    return t


def test_dtc_reads_every_value_as_written(tmp_path):
    text, warnings = dtc(sample().dtb(), tmp_path)
    assert warnings == ""
    for line in ("/memreserve/\t0x0000000048000000 0x0000000000002000;",
                 "/memreserve/\t0x0000000100000000 0x0000000000000010;",
                 "\t#address-cells = <0x02>;",
                 '\tcompatible = "test,board";',
                 "\t\treg = <0x00 0x9000000 0x00 0x1000>;",
                 '\t\tcompatible = "vendor,dev\\0vendor,generic";',
                 "\t\tclocks = <0x01 0x01>;",
                 "\t\tbig = <0x12345678 0x9abcdef0>;",
                 "\t\tmac = [02 00 5e 10 00 01];",
                 "\t\tdma-coherent;",
                 '\t\tlabel = "say \\"hi\\" \\\\ bye";',
                 "\t\tphandle = <0x01>;",
                 "\t\t\tlink = <0x01>;"):
        assert line in text.splitlines(), line
    assert "\tdev@9000000 {" in text and "\t\tchild@0 {" in text


def test_header_and_layout():
    blob = sample().dtb()
    magic, total, off_struct, off_strings, off_rsvmap, version, last, cpuid, size_strings, size_struct = \
        struct.unpack(">10I", blob[:40])
    assert (magic, version, last, cpuid) == (0xD00DFEED, 17, 16, 0)
    assert total == len(blob)
    assert off_rsvmap == 40 and off_rsvmap % 8 == 0
    assert off_struct == off_rsvmap + 3 * 16                  # two entries and the terminator
    assert off_struct % 4 == 0 and off_strings == off_struct + size_struct
    assert off_strings + size_strings == total
    names = blob[off_strings:].split(b"\0")[:-1]
    assert len(names) == len(set(names))                      # each property name stored once


def test_parse_round_trip_gives_the_same_bytes():
    t = sample()
    t.boot_cpuid = 3
    blob = t.dtb()
    p = fdt.parse(blob)
    assert p.reserved == [(0x4800_0000, 0x2000), (0x1_0000_0000, 0x10)]
    assert p.boot_cpuid == 3
    assert flat(p) == flat(t)
    assert p.dtb() == blob
    dev = p.find("/dev@9000000")
    assert dev.cells("reg") == [0, 0x0900_0000, 0, 0x1000]
    assert dev.number("big") == 0x1234_5678_9ABC_DEF0
    assert dev.strings("compatible") == ["vendor,dev", "vendor,generic"]
    assert dev.string("label") == 'say "hi" \\ bye'
    assert dev.raw("mac") == b"\x02\x00\x5e\x10\x00\x01"
    assert dev.raw("dma-coherent") == b""
    assert p.find("/dev/child@0").path() == "/dev@9000000/child@0"


def test_dts_compiles_back_to_the_same_tree(tmp_path):
    t = sample()
    back = fdt.parse(dtc_compile(t.dts(), tmp_path))
    assert flat(back) == flat(t)
    assert back.reserved == t.reserved


def test_printing_a_parsed_blob_matches_dtc_on_qemus_own_tree(tmp_path):
    blob = qemu_virt_dtb(tmp_path, gic=2, smp=2)
    ours = fdt.parse(blob).dts()
    theirs, _ = dtc(blob, tmp_path)
    # dtc 1.6 prints a string list as one string with \0; we print "a", "b".
    assert ours.replace('", "', "\\0") == theirs.rstrip("\n") + "\n"


def test_references_get_phandles_after_the_explicit_ones():
    t = fdt.Tree()
    a = t.add("a").set("phandle", 7)
    b = t.add("b")
    c = t.add("c")
    t.set("x", [c, b, a, 5])
    p = fdt.parse(t.dtb())
    assert p.cells("x") == [8, 9, 7, 5]
    assert p.find("/c").number("phandle") == 8 and p.find("/b").number("phandle") == 9
    assert t.raw("x") == struct.pack(">4I", 8, 9, 7, 5)


def test_a_detached_subtree_can_refer_into_itself():
    dev = fdt.Node("dev@1000")
    clk = dev.add("clk")
    dev.set("clocks", clk)
    with pytest.raises(ValueError, match="attach it to a Tree"):
        dev.raw("clocks")
    t = fdt.Tree()
    t.attach(dev)
    assert fdt.parse(t.dtb()).find("/dev@1000").cells("clocks") == [1]


def test_find():
    t = sample()
    assert t.find("/") is t
    assert t.find("/dev").name == "dev@9000000"
    assert t.find("dev@9000000/child").name == "child@0"
    assert t.find("/dev@1") is None and t.find("/nothing") is None


def test_set_replaces_in_place():
    t = fdt.Tree()
    t.set("a", 1).set("b", 2).set("a", "x")
    assert t.prop_names() == ["a", "b"] and t.string("a") == "x"


@pytest.mark.parametrize("name", ["my node", "", "a@b@c", "a@", "@1", "n\u00f6de", "a/b", "a\0"])
def test_bad_node_names(name):
    with pytest.raises(ValueError, match="node name"):
        fdt.Tree().add(name)


@pytest.mark.parametrize("name", ["bad name", "", "x=y", "a@b", 5])
def test_bad_property_names(name):
    with pytest.raises(ValueError, match="property name"):
        fdt.Tree().set(name, 1)


@pytest.mark.parametrize("value, message", [
    (1.5, "unsupported value"), (None, "unsupported value"), (False, "unsupported value"),
    ({}, "unsupported value"), ([], "unsupported value"),
    (-1, "outside 0..0xffffffff"), (2 ** 32, "use fdt.u64"),
    (["a", 1], "only str"), ([1, "a"], "cannot be a cell"), ([1, 2.0], "cannot be a cell"),
    ("a\0b", "NUL"), ([True], "cannot be a cell"),
])
def test_unsupported_values_are_refused_and_change_nothing(value, message):
    n = fdt.Tree().add("dev")
    n.set("prop", 42)
    with pytest.raises(ValueError, match=message) as e:
        n.set("prop", value)
    assert "'prop' of /dev" in str(e.value)
    assert n.cells("prop") == [42]


@pytest.mark.parametrize("value", [-1, 2 ** 64, "1", True])
def test_bad_u64(value):
    with pytest.raises(ValueError, match="u64"):
        fdt.u64(value)


def test_duplicate_nodes():
    t = fdt.Tree()
    t.add("cpus")
    with pytest.raises(ValueError, match="duplicate node /cpus"):
        t.add("cpus")
    with pytest.raises(ValueError, match="duplicate node /cpus"):
        t.attach(fdt.Node("cpus"))
    assert [c.name for c in t.children] == ["cpus"]


def test_attach_refuses_nodes_in_a_tree_and_cycles():
    t = fdt.Tree()
    a = t.add("a")
    with pytest.raises(ValueError, match="already in a tree"):
        t.add("b").attach(a)
    top = fdt.Node("top")
    low = top.add("low")
    with pytest.raises(ValueError, match="own subtree"):
        low.attach(top)
    with pytest.raises(ValueError, match="detached"):
        a.attach(fdt.Tree())


def test_reference_outside_the_tree():
    t = fdt.Tree()
    t.set("clocks", fdt.Node("elsewhere"))
    with pytest.raises(ValueError, match="not in this tree"):
        t.dtb()


def test_duplicate_and_bad_phandles():
    t = fdt.Tree()
    t.add("a").set("phandle", 3)
    t.add("b").set("phandle", 3)
    with pytest.raises(ValueError, match="phandle 3 is on both /a and /b"):
        t.dtb()
    for bad in (0, 0xFFFFFFFF, "x", [1, 2]):
        with pytest.raises(ValueError, match="phandle"):
            t.add("c").set("phandle", bad)
        t.children.pop()


def test_bad_reservations():
    t = fdt.Tree()
    with pytest.raises(ValueError, match="size 0"):
        t.reserve(0x4000_0000, 0)
    with pytest.raises(ValueError, match="reservation"):
        t.reserve(-1, 1)
    assert t.reserved == []


def test_decoders_refuse_the_wrong_shape():
    p = fdt.parse(sample().dtb())
    dev = p.find("/dev")
    with pytest.raises(ValueError, match="not whole cells"):
        dev.cells("mac")
    with pytest.raises(ValueError, match="not NUL-terminated"):
        dev.strings("big")
    with pytest.raises(ValueError, match="2 strings"):
        dev.string("compatible")
    with pytest.raises(KeyError, match="no property 'nope'"):
        dev.raw("nope")


def corrupt(blob, offset, value):
    return blob[:offset] + struct.pack(">I", value) + blob[offset + 4:]


@pytest.mark.parametrize("make, message", [
    (lambda b: b"", "shorter than its header"),
    (lambda b: b"\x00" * 64, "magic 0x00000000"),
    (lambda b: b[:-8], "truncated device tree"),
    (lambda b: corrupt(b, 20, 2), "version 2"),
    (lambda b: corrupt(b, 8, 0x7FFF_FFF0), "outside"),
    (lambda b: corrupt(b, struct.unpack(">I", b[8:12])[0], 7), "unknown structure token 7"),
    (lambda b: corrupt(b, struct.unpack(">I", b[8:12])[0] + 4, 0x7800_0000), "first node"),
])
def test_parse_refuses_broken_blobs(make, message):
    with pytest.raises(ValueError, match=message):
        fdt.parse(make(sample().dtb()))
