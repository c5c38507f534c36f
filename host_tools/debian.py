"""Debian arm64 binary packages by name, through a private apt configuration.

    apt = DebianApt(boards.BUILD / "deps" / "linux" / "apt", components=("main",))
    deb = apt.download("busybox-static")          # a DebPackage: path, version, sha256
    apt.extract(deb, "/tmp/x", ["./bin/busybox"])

The system's apt setup is not touched: the sources list, package lists and
downloaded .debs live under the given folder. The archive URI is the one the
machine's apt sources already use (tools/setup-debian.sh --archive-uri); the
index is checked by apt against debian-archive-keyring (signed InRelease),
apt-get download checks each .deb against the index's SHA-256, and download()
checks it once more and returns that SHA-256, so callers can record what they
got.
"""
import hashlib
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

from . import boards

SUITE = "bookworm"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

DebPackage = namedtuple("DebPackage", "name version sha256 path")


class DebianError(Exception):
    pass


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise DebianError("%s failed: %s" % (" ".join(cmd[:2]), (r.stderr or r.stdout).strip()[-300:]))
    return r.stdout


def archive_uri():
    out = subprocess.run(["bash", str(boards.PROJECT_TOP / "tools/setup-debian.sh"), "--archive-uri"],
                         capture_output=True, text=True).stdout.strip()
    if not out:
        raise DebianError("cannot find the Debian archive URI in /etc/apt/sources*")
    return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class DebianApt:
    """apt-get and apt-cache for Debian bookworm arm64, with their state in `root`."""

    def __init__(self, root, components=("main",)):
        self.root = Path(root)
        self.components = components
        self._updated = False
        self.opts = ["-o", "Dir::Etc::SourceList=%s/sources.list" % self.root,
                     "-o", "Dir::Etc::SourceParts=%s/parts" % self.root,
                     "-o", "Dir::State::Lists=%s/lists" % self.root, "-o", "Dir::Cache=%s" % self.root,
                     "-o", "Debug::NoLocking=1", "-o", "APT::Architecture=arm64",
                     "-o", "APT::Architectures::=arm64", "-o", "APT::Sandbox::User=root"]

    def update(self):
        """Fetch the package index (once per DebianApt)."""
        if self._updated:
            return
        for d in ("lists/partial", "archives/partial", "parts"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "sources.list").write_text("deb [arch=arm64 signed-by=%s] %s %s %s\n"
                                                % (KEYRING, archive_uri(), SUITE, " ".join(self.components)))
        run(["apt-get", *self.opts, "update"])
        self._updated = True

    def field(self, package, name):
        """One field of the candidate's index record (Version, SHA256, ...)."""
        self.update()
        version = self.candidate(package)
        record = run(["apt-cache", *self.opts, "show", "%s=%s" % (package, version)]).split("\n\n")[0]
        for line in record.splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
        raise DebianError("%s has no %s field in the index" % (package, name))

    def candidate(self, package):
        self.update()
        for line in run(["apt-cache", *self.opts, "policy", package]).splitlines():
            if line.strip().startswith("Candidate:"):
                version = line.split(":", 1)[1].strip()
                if version != "(none)":
                    return version
        raise DebianError("%s is not in Debian %s (arm64, %s)" % (package, SUITE, " ".join(self.components)))

    def first_dependency(self, package):
        """linux-image-arm64 -> linux-image-6.1.0-NN-arm64: what a metapackage stands for."""
        self.update()
        out = run(["apt-cache", *self.opts, "depends", package])
        if "Depends:" not in out:
            raise DebianError("%s depends on nothing" % package)
        return out.split("Depends:")[1].split()[0]

    def download(self, package):
        """The candidate .deb of `package` in root/archives, checked against the index's SHA-256."""
        version = self.candidate(package)
        expected = self.field(package, "SHA256")
        folder = self.root / "archives"
        run(["apt-get", *self.opts, "download", "%s=%s" % (package, version)], cwd=folder)
        # apt names the file package_version_arch.deb (arch: arm64 or all),
        # with the epoch's ':' as %3a.
        path = folder / ("%s_%s_%s.deb" % (package, version.replace(":", "%3a"), self.field(package, "Architecture")))
        if not path.exists():
            raise DebianError("apt-get download %s=%s left no %s" % (package, version, path))
        got = sha256_file(path)
        if got != expected:
            raise DebianError("%s: SHA-256 %s, the index says %s" % (path.name, got, expected))
        return DebPackage(package, version, got, path)

    @staticmethod
    def extract(deb, dest, members=None):
        """Unpack a .deb's files into dest: all of them, or only `members`
        (tar names such as './bin/busybox', shell wildcards allowed)."""
        Path(dest).mkdir(parents=True, exist_ok=True)
        path = deb.path if isinstance(deb, DebPackage) else deb
        if members is None:
            run(["dpkg-deb", "-x", str(path), str(dest)])
            return
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(path)], stdout=subprocess.PIPE)
        r = subprocess.run(["tar", "-x", "-C", str(dest), "--wildcards", *members], stdin=tar.stdout,
                           capture_output=True, text=True)
        tar.stdout.close()
        if tar.wait() or r.returncode:
            raise DebianError("cannot extract %s from %s: %s" % (" ".join(members), path, r.stderr.strip()[-300:]))


def say(text):
    print("==> " + text, file=sys.stderr)
