"""The host tools as a user drives them: the aarch64-el2 CLI and mpremote on
a QEMU pty, the Python API, and the link's behaviour on a bad line."""
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from host_tools import TargetError, connect
from host_tools.qemu import Qemu

from conftest import TARGET_DIR, require_image
from regs import HCR_BOOT, HCR_ENABLE

CLI = str(Path(sys.executable).with_name("aarch64-el2"))
MPREMOTE = [sys.executable, "-m", "mpremote"]
NM = "aarch64-linux-gnu-nm"


@pytest.fixture(scope="module")
def pty(board):
    """A QEMU of our own, booted once for the module, reached by its pty as
    `aarch64-el2 boot` prints it."""
    require_image(board)
    q = Qemu(board)
    yield q.port
    q.stop()


def cli(*args, port=None, timeout=60):
    cmd = [CLI] + (["-p", port] if port else []) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def ok(*args, **kw):
    r = cli(*args, **kw)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_status_table_names_every_cpu_and_decodes_hcr(pty):
    out = ok("status", port=pty).splitlines()
    assert out[0].split()[:3] == ["CPU", "enabled", "VBAR_EL2"]
    rows = [l.split() for l in out[1::2]]
    assert [r[0] for r in rows] == ["0", "1", "2", "3"]
    assert all(r[1] == "no" and r[3] == "host" and int(r[5], 16) == HCR_BOOT for r in rows)
    assert all(l.split() == ["HCR_EL2:", "FMO", "IMO", "AMO"] for l in out[2::2])


def test_enable_and_disable_through_the_cli_change_that_cpus_registers(pty, firmware):
    vcpu_vectors = firmware.symbol("exception_vector_base_vcpu")
    assert ok("enable", "--cpu", 2, port=pty).startswith("CPU 2: enabled, VBAR_EL2=0x%x (vcpu)" % vcpu_vectors)
    rows = json.loads(ok("status", "--json", port=pty))
    assert [r["enabled"] for r in rows] == [False, False, True, False]
    assert rows[2]["hcr_el2"] == HCR_ENABLE | HCR_BOOT
    assert set(rows[2]["hcr_fields"]) >= {"VM", "FMO", "IMO", "TSC", "RW"}
    reg = json.loads(ok("sysreg", "read", "VBAR_EL2", "--cpu", 2, "--json", port=pty))
    assert reg["value"] == vcpu_vectors
    ok("disable", "--all", port=pty)
    rows = json.loads(ok("status", "--json", port=pty))
    assert all(not r["enabled"] and r["hcr_el2"] == HCR_BOOT and r["vectors"] == "host" for r in rows)


def test_sysreg_write_then_read_on_another_cpu(pty):
    out = ok("sysreg", "write", "tpidr_el2", "0x1234_5678", "--cpu", 3, port=pty)
    assert out.strip() == "TPIDR_EL2 = 0x0000000012345678"
    assert json.loads(ok("sysreg", "read", "TPIDR_EL2", "--cpu", 3, "--json", port=pty))["value"] == 0x1234_5678
    assert json.loads(ok("sysreg", "read", "TPIDR_EL2", "--cpu", 1, "--json", port=pty))["value"] != 0x1234_5678
    out = ok("sysreg", "read", "HCR_EL2", port=pty)
    assert out.strip() == "HCR_EL2 = 0x0000000000000038  (FMO IMO AMO)"


def test_cli_errors_are_one_line_and_exit_1(pty):
    for args, text in ((("sysreg", "read", "HCR_EL3"), "closest: HCR_EL2"),
                       (("sysreg", "write", "MIDR_EL1", "0"), "read-only"),
                       (("enable", "--cpu", "7"), "CPU 7 is not online"),
                       (("exec", "1/0"), "ZeroDivisionError")):
        r = cli(*args, port=pty)
        assert r.returncode == 1 and text in r.stderr and r.stdout == "", (args, r.stderr)
        if args[0] != "exec":
            assert r.stderr.count("\n") == 1
    assert ok("exec", "print(6 * 7)", port=pty) == "42\n"


def _nm(elf):
    out = subprocess.run([NM, elf], capture_output=True, text=True, check=True).stdout
    return {name: int(addr, 16) for addr, _, name in (l.split() for l in out.splitlines() if len(l.split()) == 3)}


def test_inspect_agrees_with_nm(board):
    elf = str(require_image(board).with_name("firmware.elf"))
    info = json.loads(ok("inspect", elf, "--json"))
    syms = _nm(elf)
    assert info["exception_vector_base_vcpu"] == syms["exception_vector_base_vcpu"]
    assert info["host_exception_vectors"] == syms["host_exception_vectors"]
    assert info["entry"] == syms["_start"]
    assert info["vcpu_vectors_aligned"] and info["exception_vector_base_vcpu"] % 0x800 == 0
    assert ok("inspect", elf, "--symbol", "vm_exit").strip() == "vm_exit = 0x%x" % syms["vm_exit"]
    assert ok("inspect", elf, "--address", hex(syms["vm_exit"] + 4)).strip() == "0x%x = vm_exit+0x4" % (syms["vm_exit"] + 4)
    r = cli("inspect", elf, "--symbol", "no_such_symbol")
    assert r.returncode == 1 and "no symbol 'no_such_symbol'" in r.stderr


def test_mpremote_fs_commands_on_the_ram_disk(pty, tmp_path):
    src = tmp_path / "blink.py"
    src.write_text("VALUE = 6 * 7\n")
    run = lambda *a: subprocess.run(MPREMOTE + ["connect", pty] + list(a), capture_output=True, text=True, timeout=60)
    assert run("fs", "cp", str(src), ":blink.py").returncode == 0
    assert "blink.py" in run("fs", "ls").stdout
    assert run("fs", "cat", "blink.py").stdout == "VALUE = 6 * 7\n"
    # A soft reset (mpremote does one) keeps the file: it is importable.
    assert run("exec", "import blink; print(blink.VALUE)").stdout == "42\n"
    assert run("fs", "rm", "blink.py").returncode == 0
    assert "blink.py" not in run("fs", "ls").stdout


def test_mpremote_mount_runs_host_files_and_the_target_writes_back(pty, board, tmp_path):
    shutil.copy(TARGET_DIR / "whoami.py", tmp_path / "whoami.py")
    r = subprocess.run(MPREMOTE + ["connect", pty, "mount", str(tmp_path), "run",
                                   str(TARGET_DIR / "mount_write_back.py")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert ast.literal_eval(r.stdout.strip().splitlines()[-1]) == (board, 2)     # whoami ran from the host
    assert (tmp_path / "from_target.txt").read_text() == "hi"


def test_a_client_that_opens_the_pty_late_still_sees_the_first_prompt(board):
    # `aarch64-el2 boot` prints the port; the user may open it seconds after
    # the firmware printed its banner and prompt.
    require_image(board)
    with Qemu(board) as q:
        time.sleep(1.0)
        with serial.Serial(q.port, 115200, timeout=5) as s:
            seen = s.read_until(b">>> ")
    assert seen.endswith(b">>> ") and b"MicroPython v1.25.0" in seen, seen


def test_a_port_that_never_answers_times_out_naming_the_port():
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        t0 = time.monotonic()
        r = cli("-t", "1", "status", port=name, timeout=30)
        took = time.monotonic() - t0
        assert r.returncode == 3 and took < 10     # 3: the link failed
        assert r.stderr.startswith("error: %s did not answer within the timeout" % name), r.stderr
    finally:
        os.close(master)
        os.close(slave)


def test_random_bytes_on_the_line_then_the_link_recovers(pty):
    rng = random.Random(1)
    with serial.Serial(pty, 115200) as s:
        s.write(bytes(rng.randrange(256) for _ in range(4096)))
        s.flush()
    # A new connection clears whatever state the garbage left (paste mode,
    # raw REPL, a half-typed line) and works.
    assert ok("exec", "print(6 * 7)", port=pty) == "42\n"
    with connect(pty) as t:
        t.transport.serial.write(b"x = (1, 2,\r\x05garbage")
        t.recover()
        assert t.eval("6 * 7") == 42


def test_python_api_for_host_scripts(pty):
    with connect(pty) as t:
        assert t.cpu_count() == 4
        t.write_sysreg("TPIDR_EL2", 0xfeed, cpu=1)
        assert t.read_sysreg("TPIDR_EL2", cpu=1) == 0xfeed
        t.pcpu_enable(1)
        row = t.pcpu_status()[1]
        assert row["enabled"] and row["vectors"] == "vcpu"
        t.pcpu_disable(1)
        with pytest.raises(TargetError) as e:
            t.exec("import aarch64\naarch64.read_sysreg('NOPE')")
        assert e.value.type == "ValueError" and "unknown system register 'NOPE'" in e.value.message
        assert t.call("aarch64.read_sysreg", "HCR_EL2", cpu=1) == HCR_BOOT
