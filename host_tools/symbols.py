"""Addresses in the firmware named as code: `function+0xoff (file:line)`
from the firmware ELF's symbol table and DWARF line table (pyelftools).

    s = Symbols("build/QEMU_VIRT/firmware.elf")
    str(s.locate(0x4021aa88))     # 'mp_obj_print_helper+0x8 (py/obj.c:118)'
    s.annotate("... at ELR_EL2=0x40268510")   # '... at ELR_EL2=0x40268510 <guarded_ld8+0x0>'

annotate() is what the CLI and the target API apply to a fault report, an
aarch64.Fault's message or a VM exit record: each ELR/FAR/PC value that
lies in the firmware gets its location after it, as gdb prints `<f+off>`.
An address outside the firmware's loaded segments (a guest's, a device's)
is left as it is.
"""
import bisect
import collections
import os
import re

from elftools.elf.elffile import ELFFile

# A symbol at an address: FUNC before NOTYPE (assembly labels) before
# OBJECT, a name of the code before a linker-made one (__guarded_start).
_TYPE_RANK = {"STT_FUNC": 0, "STT_NOTYPE": 1, "STT_OBJECT": 2}

_ADDRESS_RE = re.compile(r"\b((?:ELR|FAR|PC)(?:_EL[12])?|pc|elr|far)(=|: ?| )(0x[0-9a-fA-F]+)")

_PROJECT_TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Location(collections.namedtuple("Location", "address function offset file line")):
    """Where `address` is: in `function` at `offset`; `file` and `line`
    from the line table (None where it has none: assembly built without -g)."""

    def __str__(self):
        where = "%s+0x%x" % (self.function, self.offset)
        return where + (" (%s:%d)" % (self.file, self.line) if self.file else "")


class Symbols:
    def __init__(self, path):
        self.path = str(path)
        with open(self.path, "rb") as f:
            elf = ELFFile(f)
            self._segments = [(s["p_vaddr"], s["p_vaddr"] + s["p_memsz"])
                              for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            symtab = elf.get_section_by_name(".symtab")
            if symtab is None:
                raise ValueError("%s has no symbol table" % self.path)
            syms = []
            for sym in symtab.iter_symbols():
                kind = sym["st_info"]["type"]
                name = sym.name
                # $x/$d: AArch64 mapping symbols; .L: assembler locals.
                if not name or name[0] == "$" or name.startswith(".L") or kind not in _TYPE_RANK \
                        or sym["st_shndx"] == "SHN_UNDEF" or sym["st_shndx"] == "SHN_ABS":
                    continue
                rank = (_TYPE_RANK[kind], name.startswith("__"))
                syms.append((sym["st_value"], rank, sym["st_size"], name))
            self.has_lines = elf.has_dwarf_info() and elf.get_section_by_name(".debug_line") is not None
        syms.sort()
        self._syms = syms
        self._starts = [s[0] for s in syms]
        self._lines = {}        # CU offset -> sorted [(address, file, line)], parsed on first use

    def _loaded(self, address):
        return any(lo <= address < hi for lo, hi in self._segments)

    def function(self, address):
        """(name, offset) of the symbol containing `address`, or None."""
        if not self._loaded(address):
            return None
        i = bisect.bisect_right(self._starts, address)
        if i == 0:
            return None
        start = self._starts[i - 1]
        # Every symbol at that start, best first; one that says its size must contain the address.
        for value, _, size, name in sorted(s for s in self._syms[bisect.bisect_left(self._starts, start):i]):
            if size == 0 or address < value + size:
                return name, address - value
        return None

    def line(self, address):
        """(file, line) of the instruction at `address`, or None."""
        if not self.has_lines:
            return None
        with open(self.path, "rb") as f:
            dwarf = ELFFile(f).get_dwarf_info()
            cu_offset = dwarf.get_aranges().cu_offset_at_addr(address) if dwarf.get_aranges() else None
            if cu_offset is None:
                return None
            rows = self._lines.get(cu_offset)
            if rows is None:
                rows = self._lines[cu_offset] = _line_rows(dwarf, dwarf.get_CU_at(cu_offset))
        i = bisect.bisect_right(rows, (address, "\uffff", 1 << 62))
        if i == 0 or rows[i - 1][1] is None:
            return None
        return rows[i - 1][1], rows[i - 1][2]

    def locate(self, address):
        """A Location for `address` in the firmware, or None."""
        fn = self.function(address)
        if fn is None:
            return None
        where = self.line(address)
        return Location(address, fn[0], fn[1], *(where or (None, None)))

    def annotate(self, text):
        """`text` with each ELR/FAR/PC value in the firmware followed by <its location>."""
        def one(m):
            loc = self.locate(int(m.group(3), 16))
            return m.group(0) + (" <%s>" % (loc,) if loc else "")
        return _ADDRESS_RE.sub(one, text)


def _line_rows(dwarf, cu):
    """The CU's line table as sorted (address, file, line); a sequence's end
    is a row with file None (no line beyond it)."""
    lp = dwarf.line_program_for_CU(cu)
    if lp is None:
        return []
    version = lp["version"]
    files, dirs = lp["file_entry"], lp["include_directory"]
    rows = []
    for entry in lp.get_entries():
        st = entry.state
        if st is None:
            continue
        if st.end_sequence:
            rows.append((st.address, None, 0))
            continue
        index = st.file if version >= 5 else st.file - 1
        if not 0 <= index < len(files):
            continue
        fe = files[index]
        name = fe.name.decode(errors="replace")
        if not os.path.isabs(name) and fe.dir_index < len(dirs) and (version >= 5 or fe.dir_index > 0):
            name = os.path.join(dirs[fe.dir_index].decode(errors="replace"), name)
        rows.append((st.address, _short(name), st.line))
    rows.sort(key=lambda r: r[0])      # stable: a sequence's end stays before a row at the same address
    return rows


def _short(path):
    """A source path as short as still says which: relative to this project."""
    path = os.path.normpath(path)
    return path[len(_PROJECT_TOP):] if path.startswith(_PROJECT_TOP) else path


_CACHE = {}


def for_elf(path):
    """Symbols of the ELF at `path`, read once per version of the file."""
    key = (os.path.abspath(path), os.stat(path).st_mtime_ns)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = Symbols(path)
    return _CACHE[key]
