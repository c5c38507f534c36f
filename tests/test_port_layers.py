"""The C port's layers, checked on the built objects: the core (port/core/)
never includes or calls the MicroPython layer above it (main.c, the HAL, the
mod*.c modules and their type files), which registers with the core through
explicit calls instead."""
import re
import subprocess
from pathlib import Path

import pytest

from conftest import require_image
from host_tools import boards

PORT = boards.PROJECT_TOP / "port"
CORE = PORT / "core"
# What a core file may include besides other core headers.
ALLOWED_INCLUDE = re.compile(r'^(py/|shared/|genhdr/|mpconfigboard\.h$|el2_defs\.h$)')


def core_sources():
    return sorted(CORE.glob("*.[ch]"))


def test_core_files_include_only_core_headers_and_micropython_itself():
    assert core_sources(), "no files in port/core"
    core_names = {p.name for p in core_sources()}
    for path in core_sources():
        for line in path.read_text().splitlines():
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                inc = m.group(1)
                assert inc in core_names or ALLOWED_INCLUDE.match(inc), "%s includes %s" % (path.name, inc)


def defined_and_undefined(obj):
    out = subprocess.run(["aarch64-linux-gnu-nm", str(obj)], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRtdbr":
            defined.add(parts[2])
    return defined, undefined


def test_core_objects_call_nothing_defined_in_the_layer_above(board):
    require_image(board)
    build = boards.BUILD / board
    core_objs = sorted((build / "core").glob("*.o"))
    # modmachine.c and modtime.c are compiled inside extmod's files of the same name.
    above = [build / (p.stem + ".o") if (build / (p.stem + ".o")).exists() else build / "extmod" / (p.stem + ".o")
             for p in PORT.glob("*.c")]
    assert core_objs and all(o.exists() for o in above), "build %s first" % board
    above_defined = set()
    for obj in above:
        above_defined |= defined_and_undefined(obj)[0]
    for obj in core_objs:
        calls_up = defined_and_undefined(obj)[1] & above_defined
        assert not calls_up, "core/%s uses %s from the MicroPython layer" % (obj.name, sorted(calls_up))


def test_no_weak_hooks_in_the_port():
    for path in list(PORT.glob("*.c")) + core_sources():
        assert "__attribute__((weak))" not in path.read_text(), path
