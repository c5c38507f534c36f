"""Packaging (host only): pyproject.toml says ranges, constraints.txt the
exact versions make installs (and they are what is installed), the metadata
a package index shows (readme, MIT, URLs, classifiers), one version, and
the target-only Python of firmware/ left out of what is built."""
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

TOP = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((TOP / "pyproject.toml").read_text())["project"]


def pins():
    out = {}
    for line in (TOP / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            out[name.lower()] = version
    return out


def test_dependencies_are_ranges_pinned_by_the_constraints_and_installed():
    reqs = [Requirement(r) for r in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["test"]]
    pinned = pins()
    for r in reqs:
        assert "==" not in str(r.specifier), "%s: a range in pyproject.toml, the pin in constraints.txt" % r
        assert r.name.lower() in pinned, "%s has no pin in constraints.txt" % r.name
        assert r.specifier.contains(pinned[r.name.lower()]), "%s==%s is outside %s" % (r.name, pinned[r.name.lower()], r)
    for name, version in pinned.items():
        assert metadata.version(name) == version, "%s: installed %s, pinned %s (make venv)" % (
            name, metadata.version(name), version)


def test_metadata_a_package_index_shows():
    meta = metadata.metadata("host_tools")
    assert meta["Version"] == PYPROJECT["version"]
    assert meta["License"] == "MIT" and (TOP / "LICENSE").read_text().startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in meta.get_all("Classifier")
    assert meta.get_all("Project-URL") and meta["Description-Content-Type"] == "text/markdown"
    eps = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert eps.get("host_tools.pytest_plugin") == "host_tools.pytest_plugin"


def test_the_version_is_written_once():
    """pyproject.toml has it; the Python and C sources only read it."""
    version = re.escape(PYPROJECT["version"])
    hits = subprocess.run(["git", "grep", "-lE", r"version\s*=\s*[\"']%s[\"']|VERSION \"%s\"" % (version, version),
                           "--", "*.py", "*.c", "*.h", "*.toml", "Makefile"],
                          cwd=TOP, capture_output=True, text=True).stdout.split()
    assert hits == ["pyproject.toml"]


def test_target_only_python_is_not_built(tmp_path):
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)], cwd=TOP,
                   check=True, capture_output=True)
    target = {p.stem for p in (tmp_path / "host_tools" / "target").glob("*.py")}
    assert not target & {"_boot", "manifest", "vcpu", "vm"}         # they import the firmware's C modules
    assert {"sysregs", "pcpu", "pcpu_status", "fdt", "guest_image"} <= target   # the host uses these
    assert (tmp_path / "host_tools" / "pytest_plugin.py").exists() and (tmp_path / "host_tools" / "sim.py").exists()


def test_the_transport_sets_everything_mpremotes_constructor_sets():
    # host_tools.transport.Transport opens its own port (mpremote's
    # SerialTransport.__init__ turns "Permission denied" into "failed to
    # access", cannot open socket:// and sets an inter-byte timeout that
    # defeats block reads), so it sets what that constructor sets itself.
    # An mpremote whose constructor sets something new fails here, not
    # silently at a user's first exec.
    import ast
    import inspect
    import textwrap

    from mpremote.transport_serial import SerialTransport

    from host_tools.transport import Transport
    tree = ast.parse(textwrap.dedent(inspect.getsource(SerialTransport.__init__)))
    theirs = {t.attr for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
    assert {"serial", "in_raw_repl", "use_raw_paste"} <= theirs     # the parse found the constructor's body
    t = Transport("loop://")
    try:
        assert sorted(n for n in theirs if not hasattr(t, n)) == []
    finally:
        t.serial.close()
