"""Flattened device trees: a small writer (DTB version 17, last compatible 16)
and a minimal reader. Plain Python for MicroPython and CPython alike.

    import fdt
    t = fdt.Tree()
    t.set("#address-cells", 2).set("#size-cells", 2)
    t.set("compatible", "linux,dummy-virt")
    mem = t.add("memory@40000000")
    mem.set("device_type", "memory")
    mem.set("reg", [fdt.u64(0x4000_0000), fdt.u64(512 << 20)])
    clk = t.add("apb-pclk").set("#clock-cells", 0)
    t.add("pl011@9000000").set("clocks", [clk, clk])   # a node in cells: its phandle
    t.reserve(0x4800_0000, 0x1000)                      # the memory reservation map
    blob = t.dtb()                                      # bytes
    print(t.dts())                                      # text, as dtc prints it
    fdt.parse(blob).find("/memory").cells("reg")        # [0, 0x40000000, 0, 0x20000000]

Property values by Python type: an int is one u32 cell; `u64(x)` two cells;
a Node is its phandle (given one when the blob is made); a list or tuple of
those is a cell list; a str is a string; a list or tuple of str a string list;
bytes are raw bytes; True an empty property. Anything else is a ValueError,
as are names the device-tree specification does not allow and a second child
of the same name. `set()` on an existing property replaces its value.
"""
import struct

MAGIC = 0xD00DFEED
VERSION = 17
LAST_COMPATIBLE = 16
HEADER_SIZE = 40

FDT_BEGIN_NODE = 1
FDT_END_NODE = 2
FDT_PROP = 3
FDT_NOP = 4
FDT_END = 9

# Kinds of property value. A parsed blob's values are RAW: bytes whose type
# the blob does not record, guessed only for printing.
EMPTY, CELLS, STRINGS, BYTES, RAW = "empty", "cells", "strings", "bytes", "raw"

_NAME_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,._+-"
_PROP_CHARS = _NAME_CHARS + "?#"
_U32_MAX = 0xFFFFFFFF
_U64_MAX = 0xFFFFFFFFFFFFFFFF


class U64:
    """A 64-bit number as two cells, most significant first (use `u64(x)`)."""

    def __init__(self, value):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
            raise ValueError("u64 value must be an int in 0..2**64-1, not %r" % (value,))
        self.value = value

    def cells(self):
        return [self.value >> 32, self.value & _U32_MAX]

    def __repr__(self):
        return "u64(0x%x)" % self.value


def u64(value):
    return U64(value)


def _check_chars(name, allowed, what):
    if not isinstance(name, str) or not name:
        raise ValueError("%s must be a non-empty str, not %r" % (what, name))
    for c in name:
        if c not in allowed:
            raise ValueError("%s %r: character %r is not allowed (allowed: %s)" % (what, name, c, allowed))


def _check_node_name(name):
    _check_chars(name, _NAME_CHARS + "@", "node name")
    base, at, unit = name.partition("@")
    if not base or (at and not unit) or "@" in unit:
        raise ValueError("node name %r: expected name or name@unit-address" % name)


def _normalize(value, where):
    """(kind, value) for a Python value; ValueError naming `where` otherwise."""
    if value is True:
        return EMPTY, None
    if isinstance(value, (int, U64, Node)) and not isinstance(value, bool):
        return CELLS, _cells([value], where)
    if isinstance(value, str):
        return STRINGS, _strings([value], where)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES, bytes(value)
    if isinstance(value, (list, tuple)) and value:
        if isinstance(value[0], str):
            return STRINGS, _strings(value, where)
        return CELLS, _cells(value, where)
    raise ValueError("%s: unsupported value %r (int, u64(), Node, str, bytes, True, "
                     "or a non-empty list of cells or of str)" % (where, value))


def _cells(items, where):
    out = []
    for v in items:
        if isinstance(v, U64):
            out.extend(v.cells())
        elif isinstance(v, Node):
            out.append(v)
        elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _U32_MAX:
            out.append(v)
        elif isinstance(v, int) and not isinstance(v, bool):
            raise ValueError("%s: cell %r is outside 0..0xffffffff (use fdt.u64 for 64 bits)" % (where, v))
        else:
            raise ValueError("%s: %r cannot be a cell (int, u64(), Node)" % (where, v))
    return out


def _strings(items, where):
    for s in items:
        if not isinstance(s, str):
            raise ValueError("%s: a string list holds only str, not %r" % (where, s))
        if "\0" in s:
            raise ValueError("%s: %r contains a NUL character" % (where, s))
    return tuple(items)


def _pad4(b):
    return b + bytes((4 - len(b) % 4) % 4)


class Node:
    """A device-tree node: ordered properties, then ordered children."""

    def __init__(self, name):
        _check_node_name(name)
        self.name = name
        self.parent = None
        self.props = []         # [name, kind, value]
        self.children = []

    def __repr__(self):
        return "<fdt.Node %s>" % self.path()

    def path(self):
        if self.parent is None:
            return "/" if not self.name else self.name
        up = self.parent.path()
        return (up if up.endswith("/") else up + "/") + self.name

    # -- building ---------------------------------------------------------

    def add(self, name):
        """A new child node called `name`; returns it."""
        return self.attach(Node(name))

    def attach(self, node):
        """Make a detached node (and its subtree) a child of this one; returns it."""
        if not isinstance(node, Node) or isinstance(node, Tree):
            raise ValueError("%s: only a detached fdt.Node can be attached, not %r" % (self.path(), node))
        if node.parent is not None:
            raise ValueError("%s is already in a tree" % node.path())
        up = self
        while up is not None:
            if up is node:
                raise ValueError("cannot attach %r under its own subtree" % node.name)
            up = up.parent
        for c in self.children:
            if c.name == node.name:
                raise ValueError("duplicate node %s" % c.path())
        node.parent = self
        self.children.append(node)
        return node

    def set(self, name, value):
        """Set property `name` (see the module docstring for values); returns the node."""
        _check_chars(name, _PROP_CHARS, "property name")
        where = "property %r of %s" % (name, self.path())
        kind, value = _normalize(value, where)
        if name == "phandle" and (kind != CELLS or len(value) != 1 or isinstance(value[0], Node)
                                  or not 1 <= value[0] < _U32_MAX):
            raise ValueError("%s: a phandle is one cell in 1..0xfffffffe" % where)
        for p in self.props:
            if p[0] == name:
                p[1], p[2] = kind, value
                return self
        self.props.append([name, kind, value])
        return self

    # -- looking up -------------------------------------------------------

    def find(self, path):
        """The node at `path` below this one ("/" for the tree's root), or None.
        A component without a unit address matches the first child of that name."""
        node = self
        for part in path.split("/"):
            if not part:
                continue
            found = None
            for c in node.children:
                if c.name == part:
                    found = c
                    break
            if found is None and "@" not in part:
                for c in node.children:
                    if c.name.partition("@")[0] == part:
                        found = c
                        break
            if found is None:
                return None
            node = found
        return node

    def has(self, name):
        for p in self.props:
            if p[0] == name:
                return True
        return False

    def prop_names(self):
        return [p[0] for p in self.props]

    def raw(self, name):
        """The property's value as it is in the blob (bytes); KeyError if absent."""
        for p in self.props:
            if p[0] == name:
                if p[1] == CELLS:
                    for v in p[2]:
                        if isinstance(v, Node) and not v.has("phandle"):
                            self._root()._assign_phandles()
                            break
                return _encode(p[1], p[2])
        raise KeyError("%s has no property %r" % (self.path(), name))

    def cells(self, name):
        raw = self.raw(name)
        if len(raw) % 4:
            raise ValueError("property %r of %s is %d bytes, not whole cells" % (name, self.path(), len(raw)))
        return list(struct.unpack(">%dI" % (len(raw) // 4), raw))

    def number(self, name):
        """The cells read as one big-endian number (as Linux reads initrd-start)."""
        n = 0
        for c in self.cells(name):
            n = (n << 32) | c
        return n

    def strings(self, name):
        raw = self.raw(name)
        if not raw or raw[-1] != 0:
            raise ValueError("property %r of %s is not NUL-terminated strings" % (name, self.path()))
        return [s.decode() for s in raw[:-1].split(b"\0")]

    def string(self, name):
        s = self.strings(name)
        if len(s) != 1:
            raise ValueError("property %r of %s holds %d strings, not one" % (name, self.path(), len(s)))
        return s[0]

    def _root(self):
        node = self
        while node.parent is not None:
            node = node.parent
        if not isinstance(node, Tree):
            raise ValueError("%s refers to a node by phandle: attach it to a Tree first" % self.path())
        return node

    def _walk(self, out):
        out.append(self)
        for c in self.children:
            c._walk(out)
        return out


def _encode(kind, value):
    if kind == EMPTY:
        return b""
    if kind == STRINGS:
        return b"".join([s.encode() + b"\0" for s in value])
    if kind == CELLS:
        return struct.pack(">%dI" % len(value),
                           *[v.number("phandle") if isinstance(v, Node) else v for v in value])
    return value


class Tree(Node):
    """The root node, with the memory reservation map and the boot CPU."""

    def __init__(self):
        self.name = ""
        self.parent = None
        self.props = []
        self.children = []
        self.reserved = []      # (address, size)
        self.boot_cpuid = 0

    def reserve(self, address, size):
        """Add a /memreserve/ entry: memory the OS must not use."""
        for v in (address, size):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _U64_MAX:
                raise ValueError("reservation address and size must be ints in 0..2**64-1, not %r" % (v,))
        if size == 0:
            raise ValueError("reservation at 0x%x has size 0 (a zero size ends the map)" % address)
        self.reserved.append((address, size))

    def _assign_phandles(self):
        """Give every node that a cell list refers to a phandle, in tree order."""
        nodes = self._walk([])
        members = {}
        used = {}
        for n in nodes:
            members[id(n)] = n
            if n.has("phandle"):
                ph = n.number("phandle")
                if ph in used:
                    raise ValueError("phandle %d is on both %s and %s" % (ph, used[ph].path(), n.path()))
                used[ph] = n
        following = max(used) + 1 if used else 1
        for n in nodes:
            for name, kind, value in n.props:
                if kind != CELLS:
                    continue
                for v in value:
                    if not isinstance(v, Node):
                        continue
                    if id(v) not in members:
                        raise ValueError("property %r of %s refers to %s, which is not in this tree"
                                         % (name, n.path(), v.path()))
                    if not v.has("phandle"):
                        v.set("phandle", following)
                        following += 1

    def dtb(self):
        """The tree as a flattened device tree blob (bytes)."""
        self._assign_phandles()
        structure = []
        strings = []
        offsets = {}            # property name -> offset in the strings block
        strings_size = [0]

        def emit(node):
            structure.append(struct.pack(">I", FDT_BEGIN_NODE))
            structure.append(_pad4(node.name.encode() + b"\0"))
            for name, kind, value in node.props:
                data = _encode(kind, value)
                off = offsets.get(name)
                if off is None:
                    off = offsets[name] = strings_size[0]
                    strings.append(name.encode() + b"\0")
                    strings_size[0] += len(strings[-1])
                structure.append(struct.pack(">III", FDT_PROP, len(data), off))
                structure.append(_pad4(data))
            for c in node.children:
                emit(c)
            structure.append(struct.pack(">I", FDT_END_NODE))

        emit(self)
        structure.append(struct.pack(">I", FDT_END))
        rsvmap = [struct.pack(">QQ", a, s) for a, s in self.reserved] + [bytes(16)]
        off_rsvmap = HEADER_SIZE
        off_struct = off_rsvmap + 16 * len(rsvmap)
        size_struct = sum([len(b) for b in structure])
        off_strings = off_struct + size_struct
        total = off_strings + strings_size[0]
        header = struct.pack(">10I", MAGIC, total, off_struct, off_strings, off_rsvmap, VERSION,
                             LAST_COMPATIBLE, self.boot_cpuid, strings_size[0], size_struct)
        return b"".join([header] + rsvmap + structure + strings)

    def dts(self):
        """The tree as device-tree source text, printed as dtc prints a blob."""
        self._assign_phandles()
        lines = ["/dts-v1/;", ""]
        for a, s in self.reserved:
            lines.append("/memreserve/\t0x%016x 0x%016x;" % (a, s))
        _dts_node(self, 0, lines)
        return "\n".join(lines) + "\n"


def _dts_node(node, depth, lines):
    tab = "\t" * depth
    lines.append("%s%s {" % (tab, node.name or "/"))
    for name, kind, value in node.props:
        if kind == RAW:
            kind, value = _guess(value)
        if kind == EMPTY:
            lines.append("%s\t%s;" % (tab, name))
        else:
            lines.append("%s\t%s = %s;" % (tab, name, _dts_value(kind, value)))
    for c in node.children:
        lines.append("")
        _dts_node(c, depth + 1, lines)
    lines.append("%s};" % tab)


def _dts_value(kind, value):
    if kind == STRINGS:
        return ", ".join(['"%s"' % _escape(s) for s in value])
    if kind == CELLS:
        return "<%s>" % " ".join(["0x%02x" % (v.number("phandle") if isinstance(v, Node) else v)
                                  for v in value])
    return "[%s]" % " ".join(["%02x" % b for b in value])


def _escape(s):
    out = []
    for c in s:
        if c in "\\\"":
            out.append("\\" + c)
        elif 0x20 <= ord(c) < 0x7F or ord(c) > 0x7F:
            out.append(c)
        else:
            out.append("\\x%02x" % ord(c))
    return "".join(out)


def _guess(raw):
    """(kind, value) for bytes from a blob, as dtc guesses when it prints one."""
    if not raw:
        return EMPTY, None
    if raw[-1] == 0:
        parts = raw[:-1].split(b"\0")
        if all([p and all([0x20 <= b < 0x7F for b in p]) for p in parts]):
            return STRINGS, [p.decode() for p in parts]
    if len(raw) % 4 == 0:
        return CELLS, list(struct.unpack(">%dI" % (len(raw) // 4), raw))
    return BYTES, raw


# -- reading ------------------------------------------------------------------

def parse(blob):
    """The Tree in a flattened device tree blob; property values are raw bytes
    (read them with Node.cells, .number, .string, .strings, .raw)."""
    blob = bytes(blob)
    if len(blob) < HEADER_SIZE:
        raise ValueError("not a device tree: %d bytes is shorter than its header" % len(blob))
    magic, total, off_struct, off_strings, off_rsvmap, version, last_comp, boot_cpuid, size_strings, \
        size_struct = struct.unpack(">10I", blob[:HEADER_SIZE])
    if magic != MAGIC:
        raise ValueError("not a device tree: magic 0x%08x, expected 0x%08x" % (magic, MAGIC))
    if total > len(blob):
        raise ValueError("truncated device tree: header says %d bytes, got %d" % (total, len(blob)))
    if version < 16 or last_comp > VERSION:
        raise ValueError("device tree version %d (last compatible %d): this reader reads 16 and 17"
                         % (version, last_comp))
    if version < 17:
        size_struct = total - off_struct
    if off_struct + size_struct > total or off_strings + size_strings > total or off_rsvmap > total:
        raise ValueError("device tree blocks lie outside its %d bytes" % total)
    tree = Tree()
    tree.boot_cpuid = boot_cpuid
    pos = off_rsvmap
    while True:
        if pos + 16 > total:
            raise ValueError("memory reservation map runs off the end of the blob")
        address, size = struct.unpack(">QQ", blob[pos:pos + 16])
        pos += 16
        if address == 0 and size == 0:
            break
        tree.reserved.append((address, size))

    end = off_struct + size_struct
    pos = off_struct
    stack = []
    node = None

    def word(at):
        if at + 4 > end:
            raise ValueError("structure block truncated at offset %d" % at)
        return struct.unpack(">I", blob[at:at + 4])[0]

    def cstring(at, limit):
        stop = blob.find(b"\0", at, limit)
        if stop < 0:
            raise ValueError("unterminated name at offset %d" % at)
        return blob[at:stop].decode(), stop + 1

    while True:
        token = word(pos)
        pos += 4
        if token == FDT_BEGIN_NODE:
            name, pos = cstring(pos, end)
            pos = (pos + 3) & ~3
            if node is None:
                if name:
                    raise ValueError("the first node of a device tree must be the unnamed root")
                node = tree
            elif not stack:
                raise ValueError("node %r after the root node ended" % name)
            else:
                node = node.add(name)
            stack.append(node)
        elif token == FDT_PROP:
            if not stack:
                raise ValueError("property outside any node at offset %d" % pos)
            length, nameoff = word(pos), word(pos + 4)
            pos += 8
            if pos + length > end:
                raise ValueError("property at offset %d runs off the structure block" % pos)
            name = cstring(off_strings + nameoff, off_strings + size_strings)[0]
            _check_chars(name, _PROP_CHARS, "property name")
            node.props.append([name, RAW, blob[pos:pos + length]])
            pos = (pos + length + 3) & ~3
        elif token == FDT_END_NODE:
            if not stack:
                raise ValueError("unbalanced end of node at offset %d" % (pos - 4))
            stack.pop()
            if stack:
                node = stack[-1]
        elif token == FDT_NOP:
            pass
        elif token == FDT_END:
            if stack or node is None:
                raise ValueError("device tree ends inside a node")
            return tree
        else:
            raise ValueError("unknown structure token %d at offset %d" % (token, pos - 4))
