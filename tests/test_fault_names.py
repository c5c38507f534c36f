"""Fault reports name code: a real EL2 fault taken from the REPL (a
machine.mem8 read of an address nothing is mapped at) reports ELR_EL2, and
the host tools name it from the firmware ELF as `function+0xoff (file:line)`
(host_tools/symbols.py), in the API and the CLI. The names are checked
against binutils' own reading of the same ELF (nm, addr2line)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import TargetError, boards
from host_tools.qemu import Qemu
from host_tools.symbols import Symbols

from conftest import require_image

CLI = str(Path(sys.executable).with_name("aarch64-el2"))
UNMAPPED = 0x10_0000_0000
READ = "import machine\nmachine.mem8[0x%x]\n" % UNMAPPED
CATCH = ("import machine, aarch64\ntry:\n machine.mem8[0x%x]\nexcept aarch64.Fault as e:\n"
         " print(repr((e.elr, e.far, e.esr)))\n" % UNMAPPED)


def nm_symbols_at_or_below(elf, address):
    """The names nm lists at the highest address <= `address` (aliases included)."""
    best, names = -1, []
    for line in subprocess.run(["aarch64-linux-gnu-nm", str(elf)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] not in "tTwW":
            continue
        value = int(parts[0], 16)
        if value <= address and value > best:
            best, names = value, [parts[2]]
        elif value == best:
            names.append(parts[2])
    return best, names


def test_the_faulting_function_is_the_elf_symbol_containing_elr(machine, board):
    elr, far, esr = eval(machine.exec(CATCH))
    assert far == UNMAPPED and esr >> 26 == 0x25      # a data abort at EL2, at that address
    start, names = nm_symbols_at_or_below(boards.elf_path(board), elr)
    loc = machine.locate(elr)
    assert loc is not None and loc.function in names and loc.offset == elr - start
    assert loc.function == "guarded_ld8"     # the code that read the byte (boot/guarded.S)
    assert machine.locate(far) is None       # not the firmware's: left as it is


def test_an_uncaught_fault_names_elr_in_the_traceback(machine):
    with pytest.raises(TargetError) as e:
        machine.exec(READ)
    m = re.search(r"ELR_EL2=(0x[0-9a-f]+) <([\w.]+)\+(0x[0-9a-f]+)", e.value.traceback)
    assert m, e.value.traceback
    assert m.group(2) == "guarded_ld8" and machine.locate(int(m.group(1), 16)).function == "guarded_ld8"
    assert "<guarded_ld8+" in str(e.value)


def test_the_cli_names_elr_for_qemu_and_with_elf(board):
    require_image(board)
    machine = {v: k for k, v in boards.MACHINES.items()}[board]
    r = subprocess.run([CLI, "-p", "qemu:" + machine, "exec", READ], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "<guarded_ld8+0x0>" in r.stderr, r.stderr
    q = Qemu(board)
    try:
        r = subprocess.run([CLI, "-p", q.port, "exec", READ], capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "ELR_EL2=0x" in r.stderr and "<guarded_ld8" not in r.stderr
        r = subprocess.run([CLI, "-p", q.port, "--elf", boards.elf_path(board), "exec", READ],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "<guarded_ld8+0x0>" in r.stderr, r.stderr
    finally:
        q.stop()


def test_file_and_line_agree_with_addr2line(board):
    """Host only: a C function's address inside it, named with its line."""
    elf = require_image(board) and boards.elf_path(board)
    out = subprocess.run(["aarch64-linux-gnu-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    start = int(re.search(r"^([0-9a-f]+) T mp_obj_print_helper$", out, re.M).group(1), 16)
    address = start + 8
    loc = Symbols(elf).locate(address)
    assert (loc.function, loc.offset) == ("mp_obj_print_helper", 8)
    where = subprocess.run(["aarch64-linux-gnu-addr2line", "-e", str(elf), hex(address)], capture_output=True,
                           text=True, check=True).stdout.strip()
    path, line = where.rsplit(":", 1)
    assert loc.file.endswith("py/obj.c") and path.endswith("py/obj.c") and loc.line == int(line.split()[0])
    assert str(loc) == "mp_obj_print_helper+0x8 (%s:%s)" % (loc.file, loc.line)
