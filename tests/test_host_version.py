"""aarch64-el2 --version: the host tools' version (pyproject.toml, the one
place it is written) and, from a target named with -p, the firmware's
(aarch64.VERSION, built from the same line); a warning when they differ."""
import json
from pathlib import Path

import pytest

from conftest import cli




@pytest.fixture(scope="module")
def pty(target_port):
    """A QEMU's pty, or the board of pytest --port."""
    return target_port


def _pyproject_version():
    import re
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    return re.search(r'^version = "(.*)"$', text, re.M).group(1)


def test_version_is_pyprojects_and_the_firmwares(pty):
    version = _pyproject_version()
    r = cli("--version")
    assert (r.returncode, r.stdout) == (0, "aarch64-el2 %s (host tools)\n" % version)
    r = cli("-p", pty, "--json", "--version")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["host_tools"] == version
    # The firmware under test is built from this tree: aarch64.VERSION is the same.
    assert info["firmware"]["version"] == version and info["firmware"]["micropython"].count(".") == 2
    assert "warning" not in r.stderr


def test_version_warns_when_host_and_firmware_differ(pty, monkeypatch, capsys):
    import host_tools
    from host_tools import cli as cli_module
    monkeypatch.setattr(host_tools, "__version__", "0.0.0-other")
    assert cli_module.main(["-p", pty, "--version"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "aarch64-el2 0.0.0-other (host tools)"
    assert out.splitlines()[1].startswith("firmware %s on %s" % (_pyproject_version(), pty))
    assert "warning: the firmware is %s, the host tools 0.0.0-other" % _pyproject_version() in err
