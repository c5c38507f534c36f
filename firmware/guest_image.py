"""Where a guest image goes in a VM's RAM: a Linux arm64 `Image`, an ELF64
AArch64 executable or a raw flat binary. Only the headers are read, so a
33 MB kernel is described without holding it on a small heap.

    import guest_image
    f = open("/Image", "rb")            # or bytes, or a buffer over memory
    img = guest_image.parse(f, ram_size=512 << 20)     # RAM at 0x4000_0000
    img.kind, hex(img.entry)            # ('linux', '0x40000000')
    for address, offset, file_size, mem_size in img.segments:
        pass    # copy file_size bytes from offset to address, zero up to mem_size
    for address, data in guest_image.chunks(f, img):
        pass    # the same copy, 64 KiB at a time through one reused buffer

parse() detects the kind (ELF magic; "ARM\\x64" at offset 56 for an Image;
anything else is flat) unless `kind` is given. `load_address` is where a flat
binary goes (RAM + 0x80000 by default, as QEMU puts one) or the 2 MiB aligned
base under an Image (the lowest one in RAM by default); an ELF goes to its
physical addresses. Every error is a ValueError that says what is wrong.
"""
import struct

try:
    from . import vm_layout             # the host imports firmware/ as host_tools.target
except ImportError:
    import vm_layout                    # the target: a frozen top-level module

# Linux arm64 Image header (Documentation/arch/arm64/booting.rst), little endian.
IMAGE_MAGIC = b"ARM\x64"
IMAGE_MAGIC_OFFSET = 56
IMAGE_HEADER = "<IIQQQQQQ4sI"           # code0, code1, text_offset, image_size, flags, res2-4, magic, res5
IMAGE_HEADER_SIZE = 64
IMAGE_ALIGN = 2 << 20                   # the Image's base is 2 MiB aligned
FLAG_BIG_ENDIAN = 1 << 0
FLAG_PAGE_SHIFT, FLAG_PAGE_MASK = 1, 3
FLAG_ANYWHERE = 1 << 3                  # 0: base as close as possible to the start of RAM
PAGE_SIZES = (None, 4096, 16384, 65536)  # flags bits 2:1; 0 = unspecified

# ELF64 (the System V ABI), little endian.
ELF_MAGIC = b"\x7fELF"
ELFCLASS64, ELFDATA2LSB = 2, 1
ET_EXEC, ET_DYN = 2, 3
EM_AARCH64 = 183
ELF_HEADER = "<HHIQQQIHHHHHH"           # after e_ident[16]
ELF_HEADER_SIZE = 64
PHDR = "<IIQQQQQQ"                      # type, flags, offset, vaddr, paddr, filesz, memsz, align
PHDR_SIZE = 56
PT_LOAD = 1
MAX_PHDRS = 256

GZIP_MAGIC = b"\x1f\x8b"
ZBOOT_MAGIC = b"zimg"                   # EFI zboot (compressed) arm64 kernel, at offset 4

KINDS = ("linux", "elf", "flat")
DESCRIPTIONS = {"linux": "a Linux arm64 Image", "elf": "an ELF", "flat": "a flat binary"}


class GuestImage:
    """A plain description of an image: what to copy where, and the entry."""

    def __init__(self, kind, entry, segments, file_size):
        self.kind = kind
        self.entry = entry
        self.segments = segments        # [(address, file offset, file size, memory size)]
        self.file_size = file_size
        self.text_offset = None         # Image only
        self.image_size = None          # Image only: its header's image_size (0 on pre-3.17 kernels)
        self.page_size = None           # Image only: None when the header leaves it unspecified
        self.anywhere = None            # Image only: its base may be anywhere in RAM

    def end(self):
        """The first address above everything the image occupies."""
        return max([a + m for a, _, _, m in self.segments])

    def __repr__(self):
        return "GuestImage(%s, entry=0x%x, segments=[%s])" % (
            self.kind, self.entry, ", ".join(["(0x%x, 0x%x, 0x%x, 0x%x)" % s for s in self.segments]))


class _Reader:
    """Reads pieces of bytes, a buffer or a seekable file."""

    def __init__(self, source):
        self.file = hasattr(source, "read")
        self.source = source
        if self.file:
            try:
                source.seek(0, 2)
                self.size = source.tell()
            except (AttributeError, OSError):
                raise ValueError("the image file must be seekable")
        else:
            try:
                self.size = len(source)
                self.view = memoryview(source)
            except TypeError:
                raise ValueError("an image is bytes, a buffer or a file, not %r" % type(source).__name__)

    def read(self, offset, n):
        """Up to n bytes at offset (fewer at the end of the image)."""
        if self.file:
            self.source.seek(offset)
            return self.source.read(n)
        return bytes(self.view[offset:offset + n])


def parse(source, ram_size, ram_base=vm_layout.RAM_BASE, kind=None, load_address=None):
    """A GuestImage for `source` (bytes, a buffer, or a seekable binary file)
    in a VM whose RAM is ram_size bytes at ram_base."""
    for name, value in (("ram_size", ram_size), ("ram_base", ram_base), ("load_address", load_address)):
        if value is None and name == "load_address":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("%s must be an int >= 0, not %r" % (name, value))
    if kind is not None and kind not in KINDS:
        raise ValueError("kind must be one of %s, not %r" % (", ".join(KINDS), kind))
    r = _Reader(source)
    if r.size == 0:
        raise ValueError("the image is empty")
    head = r.read(0, IMAGE_HEADER_SIZE)
    if kind != "flat":              # a flat binary is whatever bytes it is
        found = _detect(head)
        if kind is not None and kind != found:
            raise ValueError("not a %s image: it looks like %s" % (kind, DESCRIPTIONS[found]))
        kind = found
    if kind == "elf":
        if load_address is not None:
            raise ValueError("an ELF loads at its own physical addresses: no load_address")
        img = _elf(r, head)
    elif kind == "linux":
        img = _linux(r, head, ram_base, load_address)
    else:
        if load_address is None:
            load_address = ram_base + vm_layout.FLAT_LOAD_OFFSET
        img = GuestImage("flat", load_address, [(load_address, 0, r.size, r.size)], r.size)
    _check_in_ram(img, ram_base, ram_size)
    return img


def _detect(head):
    if head[:4] == ELF_MAGIC:
        return "elf"
    if head[IMAGE_MAGIC_OFFSET:IMAGE_MAGIC_OFFSET + 4] == IMAGE_MAGIC:
        return "linux"
    if head[:2] == GZIP_MAGIC:
        raise ValueError("the image is gzip-compressed: decompress it first (a Linux Image must be uncompressed)")
    if head[:2] == b"MZ" and head[4:8] == ZBOOT_MAGIC:
        raise ValueError("the image is an EFI zboot compressed kernel: give the uncompressed Image")
    return "flat"


def _linux(r, head, ram_base, base):
    if len(head) < IMAGE_HEADER_SIZE:
        raise ValueError("a Linux Image has a %d-byte header; the file has %d bytes" % (IMAGE_HEADER_SIZE, r.size))
    _, _, text_offset, image_size, flags, _, _, _, _, _ = struct.unpack(IMAGE_HEADER, head)
    if image_size == 0:
        # Before Linux 3.17: no image_size, flags or defined endianness; the
        # offset was 0x80000 (booting.rst).
        text_offset, flags = vm_layout.FLAT_LOAD_OFFSET, 0
    if flags & FLAG_BIG_ENDIAN:
        raise ValueError("big-endian Linux Image: the VM runs little-endian guests")
    if base is None:
        base = (ram_base + IMAGE_ALIGN - 1) // IMAGE_ALIGN * IMAGE_ALIGN
    elif base % IMAGE_ALIGN:
        raise ValueError("a Linux Image's base must be 2 MiB aligned, not 0x%x" % base)
    address = base + text_offset
    img = GuestImage("linux", address, [(address, 0, r.size, max(image_size, r.size))], r.size)
    img.text_offset, img.image_size = text_offset, image_size
    img.page_size = PAGE_SIZES[(flags >> FLAG_PAGE_SHIFT) & FLAG_PAGE_MASK]
    img.anywhere = bool(flags & FLAG_ANYWHERE)
    return img


def _elf(r, head):
    if len(head) < ELF_HEADER_SIZE:
        raise ValueError("truncated ELF: %d bytes" % r.size)
    if head[4] != ELFCLASS64:
        raise ValueError("32-bit ELF (class %d): the VM runs AArch64 guests" % head[4])
    if head[5] != ELFDATA2LSB:
        raise ValueError("big-endian ELF: the VM runs little-endian guests")
    (e_type, machine, _, entry, phoff, _, _, _, phentsize, phnum, _, _, _) = struct.unpack(
        ELF_HEADER, head[16:ELF_HEADER_SIZE])
    if machine != EM_AARCH64:
        raise ValueError("ELF for machine %d, not AArch64 (%d)" % (machine, EM_AARCH64))
    if e_type != ET_EXEC:
        raise ValueError("ELF type %d: only executables (ET_EXEC) load at fixed addresses%s"
                         % (e_type, "; this one is position-independent" if e_type == ET_DYN else ""))
    if phentsize < PHDR_SIZE or not 0 < phnum <= MAX_PHDRS:
        raise ValueError("ELF program headers: %d of %d bytes (expected 1..%d of at least %d)"
                         % (phnum, phentsize, MAX_PHDRS, PHDR_SIZE))
    table = r.read(phoff, phnum * phentsize)
    if len(table) < phnum * phentsize:
        raise ValueError("truncated ELF: program headers at 0x%x run past its %d bytes" % (phoff, r.size))
    segments = []
    physical_entry = None
    for i in range(phnum):
        p_type, _, offset, vaddr, paddr, filesz, memsz, _ = struct.unpack(
            PHDR, table[i * phentsize:i * phentsize + PHDR_SIZE])
        if p_type != PT_LOAD or memsz == 0:
            continue
        if filesz > memsz:
            raise ValueError("ELF segment %d: file size 0x%x exceeds memory size 0x%x" % (i, filesz, memsz))
        if offset + filesz > r.size:
            raise ValueError("truncated ELF: segment %d needs bytes up to 0x%x of %d"
                             % (i, offset + filesz, r.size))
        if vaddr <= entry < vaddr + memsz:
            physical_entry = entry - vaddr + paddr    # the entry is virtual; the MMU is off
        segments.append((paddr, offset, filesz, memsz))
    if not segments:
        raise ValueError("the ELF has no loadable segment")
    if physical_entry is None:
        raise ValueError("the ELF's entry point 0x%x is in no loadable segment" % entry)
    ordered = sorted(segments)
    for a, b in zip(ordered, ordered[1:]):
        if a[0] + a[3] > b[0]:
            raise ValueError("ELF segments at 0x%x and 0x%x overlap" % (a[0], b[0]))
    return GuestImage("elf", physical_entry, segments, r.size)


def _check_in_ram(img, ram_base, ram_size):
    ram_end = ram_base + ram_size
    for address, _, _, memsz in img.segments:
        if address < ram_base or address + memsz > ram_end:
            raise ValueError("%s image: 0x%x..0x%x lies outside RAM 0x%x..0x%x"
                             % (img.kind, address, address + memsz, ram_base, ram_end))


def chunks(source, image, size=65536):
    """(address, data) pieces of every segment's file bytes, `size` at a time.
    From a file, `data` is a view of one reused buffer: copy it before the next."""
    r = _Reader(source)
    if r.size != image.file_size:
        raise ValueError("this image has %d bytes; it was described with %d" % (r.size, image.file_size))
    buf = bytearray(size) if r.file else None
    for address, offset, filesz, _ in image.segments:
        done = 0
        while done < filesz:
            n = min(size, filesz - done)
            if r.file:
                r.source.seek(offset + done)
                view = memoryview(buf)[:n]
                got = r.source.readinto(view)
                if got != n:
                    raise ValueError("the image file ended early at 0x%x" % (offset + done + (got or 0)))
                yield address + done, view
            else:
                yield address + done, r.view[offset + done:offset + done + n]
            done += n
