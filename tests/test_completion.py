"""Shell completion (argcomplete), host only: the shell's request as bash
sends it (COMP_LINE, COMP_POINT), answered with commands, options and the
register table's names."""
import os
import subprocess
import sys
from pathlib import Path

from host_tools.target import sysregs

CLI = str(Path(sys.executable).with_name("aarch64-el2"))


def complete(tmp_path, line):
    out = tmp_path / "completions"
    env = dict(os.environ, _ARGCOMPLETE="1", _ARGCOMPLETE_IFS="\n", COMP_LINE=line, COMP_POINT=str(len(line)),
               _ARGCOMPLETE_STDOUT_FILENAME=str(out))
    r = subprocess.run([CLI], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [c.strip() for c in out.read_text().split("\n") if c.strip()]


def test_commands_options_and_register_names(tmp_path):
    assert complete(tmp_path, "aarch64-el2 sys") == ["sysreg"]
    assert {"exec", "run", "put", "get", "status", "repl"} <= set(complete(tmp_path, "aarch64-el2 "))
    assert complete(tmp_path, "aarch64-el2 exec --ti") == ["--timeout"]
    assert complete(tmp_path, "aarch64-el2 sysreg read HCR") == ["HCR_EL2"]
    vbar = sorted(n for n in sysregs.REGISTERS if n.startswith("VBAR"))
    assert len(vbar) >= 2 and complete(tmp_path, "aarch64-el2 sysreg write VBAR") == vbar
    assert complete(tmp_path, "aarch64-el2 sysreg write vbar") == [n.lower() for n in vbar]   # either case


def test_the_registration_script_names_the_command():
    r = subprocess.run([str(Path(sys.executable).with_name("register-python-argcomplete")), "aarch64-el2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "aarch64-el2" in r.stdout
