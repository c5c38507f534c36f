"""Host helpers for the device-tree tests: dtc, QEMU's own virt tree, and a
flat view of a parsed tree for comparisons."""
import shutil
import subprocess

import pytest


def require(tool, package):
    if shutil.which(tool) is None:
        pytest.fail("%s is missing: install the Debian package %s (tools/setup-debian.sh does)" % (tool, package))


def dtc(blob, tmp_path, out_format="dts"):
    """dtc's reading of `blob`: (output, warnings). dtc failing fails the test."""
    require("dtc", "device-tree-compiler")
    path = tmp_path / "in.dtb"
    path.write_bytes(blob)
    r = subprocess.run(["dtc", "-I", "dtb", "-O", out_format, str(path)], capture_output=True)
    assert r.returncode == 0, "dtc rejected the blob: %s" % r.stderr.decode()
    return (r.stdout.decode() if out_format == "dts" else r.stdout), r.stderr.decode()


def dtc_compile(source, tmp_path):
    """dtc's blob for device-tree source text."""
    require("dtc", "device-tree-compiler")
    path = tmp_path / "in.dts"
    path.write_text(source)
    r = subprocess.run(["dtc", "-I", "dts", "-O", "dtb", str(path)], capture_output=True)
    assert r.returncode == 0, "dtc rejected the source: %s\n%s" % (r.stderr.decode(), source)
    return r.stdout


def qemu_virt_dtb(tmp_path, gic=2, smp=2, ram_mb=512, cmdline=None, initrd_size=None):
    """The tree QEMU virt itself generates for this machine (dumpdtb)."""
    require("qemu-system-aarch64", "qemu-system-arm")
    out = tmp_path / ("virt-gic%d-smp%d.dtb" % (gic, smp))
    cmd = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=%d,dumpdtb=%s" % (gic, out),
           "-cpu", "cortex-a72", "-smp", str(smp), "-m", "%dM" % ram_mb, "-nic", "none"]
    if cmdline is not None or initrd_size is not None:
        kernel = tmp_path / "kernel.bin"        # -initrd and -append need a -kernel
        kernel.write_bytes(bytes(4096))
        cmd += ["-kernel", str(kernel)]
    if initrd_size is not None:
        initrd = tmp_path / "initrd.bin"
        initrd.write_bytes(bytes(initrd_size))
        cmd += ["-initrd", str(initrd)]
    if cmdline is not None:
        cmd += ["-append", cmdline]
    r = subprocess.run(cmd, capture_output=True, timeout=60)
    assert r.returncode == 0 and out.exists(), "QEMU did not dump its tree: %s" % r.stderr.decode()
    return out.read_bytes()


def flat(tree):
    """{node path: {property: raw bytes}} of an fdt.Tree."""
    out = {}

    def walk(node):
        out[node.path()] = {name: node.raw(name) for name in node.prop_names()}
        for c in node.children:
            walk(c)
    walk(tree)
    return out


def by_phandle(tree, phandle):
    """The path of the node with this phandle."""
    for path, props in flat(tree).items():
        if props.get("phandle") == phandle.to_bytes(4, "big"):
            return path
    raise KeyError("no node has phandle %d" % phandle)
