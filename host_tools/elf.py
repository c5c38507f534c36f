"""What the firmware ELF says: entry point, load segments, symbols, vectors."""
from elftools.elf.elffile import ELFFile

VECTOR_ALIGN = 0x800     # VBAR_EL2[10:0] are RES0


class Firmware:
    def __init__(self, path):
        self.path = str(path)
        with open(self.path, "rb") as f:
            elf = ELFFile(f)
            self.entry = elf.header.e_entry
            self.segments = [
                {"vaddr": s["p_vaddr"], "paddr": s["p_paddr"], "filesz": s["p_filesz"],
                 "memsz": s["p_memsz"], "flags": _flags(s["p_flags"])}
                for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"
            ]
            self.symbols = {}
            symtab = elf.get_section_by_name(".symtab")
            if symtab is None:
                raise ValueError("%s has no symbol table" % self.path)
            for sym in symtab.iter_symbols():
                if sym.name and sym["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                    self.symbols.setdefault(sym.name, (sym["st_value"], sym["st_size"]))

    def symbol(self, name):
        """Address of `name`; KeyError if the ELF has no such symbol."""
        return self.symbols[name][0]

    def lookup(self, address):
        """(name, offset) of the symbol containing or preceding `address`."""
        best = None
        for name, (value, size) in self.symbols.items():
            if value <= address and (best is None or value > best[1]):
                if size == 0 or address < value + size or best is None or value > best[1]:
                    best = (name, value)
        if best is None:
            raise KeyError(hex(address))
        return best[0], address - best[1]

    def loadable_size(self):
        """Bytes the image occupies in the file: text + data."""
        return sum(s["filesz"] for s in self.segments)


def _flags(f):
    return ("R" if f & 4 else "-") + ("W" if f & 2 else "-") + ("X" if f & 1 else "-")


def flat_image(path):
    """The bytes a boot loader puts in memory for the firmware ELF at `path`,
    from its first loaded byte to its last (what `objcopy -O binary` makes of
    it: kernel8.img for the Pi). A file that is not an ELF is returned as
    it is (an image already)."""
    with open(path, "rb") as f:
        if f.read(4) != b"\x7fELF":
            f.seek(0)
            return f.read()
        f.seek(0)
        segments = [(s["p_paddr"], s.data()) for s in ELFFile(f).iter_segments()
                    if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
    if not segments:
        raise ValueError("%s has no loaded bytes" % path)
    base = min(pa for pa, _ in segments)
    image = bytearray(max(pa + len(d) for pa, d in segments) - base)
    for pa, d in segments:
        image[pa - base:pa - base + len(d)] = d
    return bytes(image)
