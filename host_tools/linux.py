"""The Linux guest's files, and the same guest booted directly by QEMU.

    python -m host_tools.linux assets      build/linux/Image, build/linux/initramfs.cpio.gz
    python -m host_tools.linux direct      boot them in plain QEMU virt: time to the shell, a few commands

What is fetched, by package name from Debian bookworm (arm64) through apt
(host_tools/debian.py): `linux-image-arm64`, the metapackage, names the
kernel package (linux-image-6.1.0-NN-arm64), whose /boot/vmlinuz-* is an
uncompressed arm64 Image, used as it is; `busybox-static` gives the static
/bin/busybox for the initramfs, which is ours (host_tools/initramfs.py).
Both are downloaded once into build/deps/linux/files, with their versions
and SHA-256s in packages.json there.

The direct boot is the reference for the VM: no firmware, QEMU's own
loader, device tree and PSCI (`-M virt -cpu cortex-a72 -m 512M`).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import boards, debian, initramfs
from .qemu import _die_with_parent
from .target import guest_image

CACHE = boards.BUILD / "deps" / "linux"
OUT = boards.BUILD / "linux"
KERNEL_METAPACKAGE = "linux-image-arm64"
BUSYBOX_PACKAGE = "busybox-static"
MANIFEST = "packages.json"

DIRECT_QEMU = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-m", "512M", "-nographic", "-nic", "none"]
APPEND = "console=ttyAMA0"
BOOT_TIMEOUT = 120          # about 2 s on an idle machine; this only stops a hang
COMMAND_TIMEOUT = 60


class LinuxError(Exception):
    pass


# -- the files ------------------------------------------------------------

def fetch(cache=CACHE):
    """The kernel Image and BusyBox from Debian, downloaded once: the
    packages.json record ({package: {version, sha256, file}}) of the files in
    cache/files."""
    files = Path(cache) / "files"
    manifest = files / MANIFEST
    if manifest.exists():
        record = json.loads(manifest.read_text())
        if all((files / p["file"]).exists() for p in record["packages"].values() if "file" in p):
            return record
    apt = debian.DebianApt(Path(cache) / "apt")
    kernel = apt.first_dependency(KERNEL_METAPACKAGE)
    debian.say("fetching %s (%s) and %s from Debian bookworm arm64" % (KERNEL_METAPACKAGE, kernel, BUSYBOX_PACKAGE))
    staging = Path(cache) / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    record = {"suite": debian.SUITE, "architecture": "arm64",
              "packages": {KERNEL_METAPACKAGE: {"version": apt.candidate(KERNEL_METAPACKAGE)}}}
    for package, members, name in ((kernel, ["./boot/vmlinuz-*"], "Image"),
                                   (BUSYBOX_PACKAGE, ["./bin/busybox"], "busybox")):
        deb = apt.download(package)
        apt.extract(deb, staging / "deb", members)
        found = sorted((staging / "deb").glob(members[0][2:]))
        if len(found) != 1:
            raise LinuxError("%s holds %d files named %s, not one" % (deb.path.name, len(found), members[0]))
        found[0].rename(staging / name)
        record["packages"][package] = {"version": deb.version, "sha256": deb.sha256, "deb": deb.path.name,
                                       "file": name, "from": members[0][1:] if "*" not in members[0]
                                       else "/" + found[0].relative_to(staging / "deb").as_posix()}
        os.remove(deb.path)
    shutil.rmtree(staging / "deb")
    check_image(staging / "Image")
    (staging / MANIFEST).write_text(json.dumps(record, indent=2) + "\n")
    # The whole folder appears at once: a half-fetched cache is never taken as done.
    shutil.rmtree(files, ignore_errors=True)
    staging.rename(files)
    return record


def check_image(path):
    """An uncompressed little-endian arm64 Image, or a LinuxError saying what it is."""
    try:
        with open(path, "rb") as f:
            img = guest_image.parse(f, 1 << 30, ram_base=0x4000_0000, kind="linux")
    except ValueError as e:
        raise LinuxError("%s: %s" % (path, e)) from None
    return img


def _write_if_changed(path, data):
    if not (path.exists() and path.read_bytes() == data):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def build_assets(out=OUT, cache=CACHE):
    """out/Image (the kernel, unmodified) and out/initramfs.cpio.gz; their
    record, with the packages they come from, in out/assets.json."""
    record = fetch(cache)
    files, out = Path(cache) / "files", Path(out)
    out.mkdir(parents=True, exist_ok=True)
    image = out / "Image"
    src = files / "Image"
    if not (image.exists() and image.stat().st_size == src.stat().st_size
            and debian.sha256_file(image) == debian.sha256_file(src)):
        shutil.copyfile(src, image.with_suffix(".tmp"))
        os.replace(image.with_suffix(".tmp"), image)
    initrd = out / "initramfs.cpio.gz"
    _write_if_changed(initrd, initramfs.guest_root((files / "busybox").read_bytes()).gzip())
    assets = dict(record, files={p.name: {"bytes": p.stat().st_size, "sha256": debian.sha256_file(p)}
                                 for p in (image, initrd)})
    _write_if_changed(out / "assets.json", (json.dumps(assets, indent=2) + "\n").encode())
    return image, initrd, assets


# -- the direct boot ------------------------------------------------------

class GuestConsole:
    """A QEMU whose serial console is its stdio: everything it prints is kept
    (the kernel prints about 14 KB at boot) and searched from where the last
    match ended."""

    def __init__(self, command):
        self.command = command
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        self.output = bytearray()
        self.pos = 0
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self.changed:
                if not chunk:
                    self.changed.notify_all()
                    return
                self.output += chunk
                self.changed.notify_all()

    def tail(self, n=2000):
        return self.output[-n:].decode("utf-8", "replace")

    def expect(self, pattern, timeout=COMMAND_TIMEOUT, what=None):
        """The match of `pattern` (bytes regex) in the output after the last
        match, waiting for it; a LinuxError with the last output if it never
        comes (`what` names it there)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                m = regex.search(self.output, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or not self.reader.is_alive():
                    why = "nothing within %.0f s" % timeout if self.reader.is_alive() else self._why_ended()
                    raise LinuxError("waiting for %s: %s; the guest printed:\n%s"
                                     % (what or regex.pattern.decode(errors="replace"), why, self.tail()))
                self.changed.wait(min(left, 0.5))

    def _why_ended(self):
        try:
            return "QEMU exited (status %s)" % self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "QEMU closed its output"

    def send(self, text):
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise LinuxError("QEMU has exited (status %s); the guest printed:\n%s"
                             % (self.proc.poll(), self.tail())) from None

    def wait_exit(self, timeout=COMMAND_TIMEOUT):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LinuxError("QEMU did not exit within %.0f s; the guest printed:\n%s" % (timeout, self.tail())) from None
        self.reader.join(5)
        return code

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class FirmwareConsole(GuestConsole):
    """The same guest under the firmware: QEMU boots the firmware with the
    kernel and initramfs preloaded (QEMU's loader), a vm.VM runs them, and
    its console is the firmware's UART, as `aarch64-el2 guest run` shows it.
    t0 is when run() started. After wait_exit() (the guest powered off) the
    target answers again: `target` is a host_tools.Target."""

    STOP_MARK = b"\x00guest-stop "

    def __init__(self, board="QEMU_VIRT", cpus=2, ram=256 << 20, append=APPEND, kernel=None, initrd=None,
                 smp=None, qemu_extra=(), gic=None, setup_extra=""):
        from . import guest
        from .qemu import Qemu
        from .target_api import Target
        from .transport import Transport
        kernel, initrd = Path(kernel or OUT / "Image"), Path(initrd or OUT / "initramfs.cpio.gz")
        for p in (kernel, initrd):
            if not p.exists():
                raise LinuxError("%s not found: run 'make linux-assets'" % p)
        plan = guest.plan_preload(board, [str(kernel), str(initrd)], ram)
        extra = list(qemu_extra)
        for path, address, _ in plan:
            extra += ["-device", "loader,file=%s,addr=0x%x,force-raw=on" % (os.path.abspath(path), address)]
        self.target = Target(transport=Transport.boot(Qemu(board, smp=smp, extra=extra, gic=gic), 60))
        try:
            setup = argparse.Namespace(ram=ram, cpus=cpus, append=append, initrd=str(initrd))
            self.target.exec(guest.setup_code(plan, setup) + setup_extra, timeout=120)
        except BaseException:
            self.target.close()
            raise
        self.output = bytearray()
        self.pos = 0
        self.changed = threading.Condition()
        self.report = None
        self._stop = threading.Event()
        self.t0 = time.monotonic()
        self._run()

    def _run(self):
        transport = self.target.transport
        transport.exec_raw_no_follow("r = v.run()\nprint(%r, r.reason, r.status)\n" % self.STOP_MARK.decode())
        # From here until run() returns, the console is read and written on
        # the port's descriptor directly: pyserial's read() reconfigures the
        # port (tcsetattr) for its timeout, which, from a second thread, lost
        # what the other one wrote meanwhile.
        self._fd = transport.serial._port.fileno()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def pause(self, timeout=COMMAND_TIMEOUT):
        """The escape key (Ctrl-]): run() returns; (reason, status) of its
        stop, ("paused", None). The target's REPL answers until resume()."""
        self.send("\x1d")
        return self.wait_exit(timeout)

    def resume(self):
        """v.run() again: the paused guest carries on, its console read as before."""
        self.report = None
        self._run()

    def repl_line(self, line, timeout=COMMAND_TIMEOUT):
        """Type `line` at the firmware's friendly >>> prompt (while the VM is
        paused) as a person does: what it printed before the next >>> (the
        raw REPL is left for it and entered again)."""
        transport = self.target.transport

        def typed():
            transport.serial.write(b"\r\x02")         # Ctrl-B: the friendly REPL
            transport.read_until(1, b">>> ")
            transport.serial.write(line.encode() + b"\r")
            return transport.read_until(1, b">>> ")
        out = transport.op("the friendly REPL", typed, timeout)
        transport.op("the raw REPL", lambda: transport.enter_raw_repl(soft_reset=False), 30)
        return out.decode(errors="replace").replace("\r\n", "\n")

    def _read(self):
        import select
        while not self._stop.is_set():
            if not select.select([self._fd], [], [], 0.1)[0]:
                continue
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not chunk:
                return
            with self.changed:
                self.output += chunk
                self.changed.notify_all()
                # The raw REPL ends the program with \x04, its error text, \x04, ">".
                if self.output.endswith(b"\x04>") and self.output.count(b"\x04") >= 2:
                    return

    def _why_ended(self):
        return "the firmware's run() ended: %s" % self.output[self.output.rfind(b"\x04", 0, -2):].decode(errors="replace")

    def send(self, text):
        if not self.reader.is_alive():
            raise LinuxError("the VM has stopped; the guest printed:\n%s" % self.tail())
        data = text.encode()
        while data:
            data = data[os.write(self._fd, data):]

    def wait_exit(self, timeout=COMMAND_TIMEOUT):
        """Wait for run() to return: (reason, status) of its VmStop, e.g. ("system_off", 0)."""
        self.reader.join(timeout)
        if self.reader.is_alive():
            raise LinuxError("the VM did not stop within %.0f s; the guest printed:\n%s" % (timeout, self.tail()))
        out = bytes(self.output)
        i = out.rfind(self.STOP_MARK)
        err = out[out.rfind(b"\x04", 0, -2) + 1:-2].decode(errors="replace").strip()
        if i < 0 or err:
            raise LinuxError("run() did not return a stop: %s" % (err or self.tail()))
        words = out[i + len(self.STOP_MARK):].split(b"\x04")[0].split()
        self.report = (words[0].decode(), None if words[1] == b"None" else int(words[1]))
        # The raw REPL's ">" went to the console: ask for a fresh one.
        transport = self.target.transport
        transport.op("the raw REPL", lambda: transport.enter_raw_repl(soft_reset=False), 30)
        return self.report

    def stop(self):
        self._stop.set()
        self.reader.join(5)
        self.target.close()


class LinuxShell:
    """The guest's BusyBox shell on a GuestConsole."""

    PROMPT = re.escape(initramfs.PROMPT.encode())

    def __init__(self, console):
        self.console = console
        self.commands = 0

    def wait_ready(self, timeout=BOOT_TIMEOUT):
        """Wait for the shell's marker and then its prompt; seconds since QEMU started."""
        self.console.expect(re.escape(initramfs.SHELL_MARKER.encode()), timeout, what=repr(initramfs.SHELL_MARKER))
        self.console.expect(self.PROMPT, timeout, what="the prompt %r" % initramfs.PROMPT)
        return time.monotonic() - self.console.t0

    # A kernel message printed on the console while a command runs, even in
    # the middle of the command's line: "[   10.692158] hrtimer: ...\n".
    KERNEL_LOG = re.compile(r"\[ *\d+\.\d{6}\] [^\n]*\n")

    def run(self, command, timeout=COMMAND_TIMEOUT, without_kernel_log=False):
        """(output, exit status) of one shell command. Its output lies
        between two lines the shell prints, '@@begN' and '@@endN:STATUS'; the
        echo of the typed line shows them quoted, so it never matches.
        without_kernel_log: leave out kernel messages that came in between
        (not for `dmesg`, whose lines look the same)."""
        if "\n" in command:
            raise ValueError("one command per line: %r" % command)
        self.commands += 1
        n = self.commands
        self.console.send("echo '@@'beg%d; %s; echo '@@'end%d:$?\n" % (n, command, n))
        self.console.expect(rb"@@beg%d\r?\n" % n, timeout)
        start = self.console.pos
        m = self.console.expect(rb"@@end%d:(\d+)\r?\n" % n, timeout)
        text = bytes(self.console.output[start:m.start()]).decode("utf-8", "replace")
        self.console.expect(self.PROMPT, timeout)
        text = text.replace("\r\n", "\n")
        if without_kernel_log:
            text = self.KERNEL_LOG.sub("", text)
        return text, int(m.group(1))

    def interrupt(self, command, timeout=COMMAND_TIMEOUT):
        """Start `command`, type Ctrl-C, wait for the prompt: the shell's $?
        after it (130, 128 + SIGINT, when SIGINT stopped it, which needs the
        console to be the shell's controlling terminal)."""
        self.commands += 1
        n = self.commands
        self.console.send("echo '@@'beg%d; %s\n" % (n, command))
        self.console.expect(rb"@@beg%d\r?\n" % n, timeout)
        self.console.send("\x03")
        self.console.expect(self.PROMPT, timeout)
        # The interrupted line ends there (the shell drops the rest of it).
        self.console.send("echo '@@'status%d:$?\n" % n)
        m = self.console.expect(rb"@@status%d:(\d+)\r?\n" % n, timeout)
        self.console.expect(self.PROMPT, timeout)
        return int(m.group(1))

    def poweroff(self, timeout=COMMAND_TIMEOUT):
        """`poweroff`: BusyBox init stops everything, the kernel calls PSCI
        SYSTEM_OFF, QEMU exits. Its exit status."""
        self.console.send("poweroff\n")
        self.console.expect(rb"reboot: Power down", timeout)
        return self.console.wait_exit(timeout)

    def reboot(self, timeout=BOOT_TIMEOUT):
        """`reboot`: PSCI SYSTEM_RESET; QEMU resets the machine and the kernel
        boots again. Seconds to the new shell."""
        self.console.send("reboot\n")
        self.console.expect(rb"reboot: Restarting system", timeout)
        self.console.t0 = time.monotonic()
        self.console.expect(rb"Booting Linux on physical CPU", timeout)
        return self.wait_ready(timeout)


def direct_command(smp=2, kernel=None, initrd=None, append=APPEND):
    kernel, initrd = Path(kernel or OUT / "Image"), Path(initrd or OUT / "initramfs.cpio.gz")
    for p in (kernel, initrd):
        if not p.exists():
            raise LinuxError("%s not found: run 'make linux-assets'" % p)
    return DIRECT_QEMU + ["-smp", str(smp), "-kernel", str(kernel), "-initrd", str(initrd), "-append", append]


def boot_direct(smp=2, kernel=None, initrd=None, append=APPEND):
    """QEMU virt booting the guest itself, at its shell: (LinuxShell, seconds
    from starting QEMU to the prompt). Stop it with shell.console.stop()."""
    console = GuestConsole(direct_command(smp, kernel, initrd, append))
    shell = LinuxShell(console)
    try:
        seconds = shell.wait_ready()
    except BaseException:
        console.stop()
        raise
    return shell, seconds


# -- command line ---------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m host_tools.linux", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("assets", help="fetch (once) and build build/linux/{Image,initramfs.cpio.gz}")
    a.add_argument("--out", default=str(OUT))
    d = sub.add_parser("direct", help="boot the assets in plain QEMU virt, run a few commands, power off")
    d.add_argument("--smp", type=int, default=2)
    d.add_argument("--append", default=APPEND)
    d.add_argument("commands", nargs="*", default=["nproc", "cat /proc/interrupts"])
    args = p.parse_args(argv)
    try:
        if args.action == "assets":
            image, initrd, assets = build_assets(args.out)
            for name, info in assets["packages"].items():
                print("%-28s %-16s %s" % (name, info["version"], info.get("sha256", "(metapackage)")))
            for name, info in assets["files"].items():
                print("%-28s %10d bytes  %s" % (Path(args.out) / name, info["bytes"], info["sha256"]))
            return 0
        command = [os.path.relpath(w) if w.startswith(str(boards.PROJECT_TOP)) else w
                   for w in direct_command(args.smp, append=args.append)]
        print("$ " + " ".join(command), file=sys.stderr)
        shell, seconds = boot_direct(args.smp, append=args.append)
        with shell.console:
            print("shell prompt after %.2f s" % seconds)
            for c in args.commands:
                out, status = shell.run(c)
                print("guest# %s\n%s" % (c, out), end="" if out.endswith("\n") or not out else "\n")
                if status:
                    print("(exit status %d)" % status)
            code = shell.poweroff()
            print("poweroff: QEMU exited with status %d" % code)
            return code
    except (LinuxError, debian.DebianError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
