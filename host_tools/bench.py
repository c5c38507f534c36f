"""make bench: every benchmark in one report, build/bench.json plus a table.

Instruction counts come from QEMU with -icount shift=0 (deterministic); wall
times (boot, host round trips) are medians, since those are what a user feels.
Where upstream MicroPython's own QEMU port has the same measure, it is built
from the cached 1.25.0 tree and measured in the same run.
"""
import argparse
import ast
import json
import os
import re
import statistics
import subprocess
import sys
import time

import serial

from . import boards, linux
from .bench_target import TARGET_CODE, VM_GUEST_CODE
from .elf import Firmware
from .qemu import Qemu
from .target_api import Target
from .transport import Transport

ICOUNT = ["-icount", "shift=0"]


def boot_to_prompt(start_qemu, runs=5):
    """Median wall seconds from start_qemu() to the first '>>> ' on the pty."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        q = start_qemu()
        try:
            port = serial.Serial(q.port, 115200, timeout=0.01)
            seen = b""
            while b">>> " not in seen:
                seen += port.read(256)
                if time.perf_counter() - t0 > 10:
                    raise RuntimeError("no prompt within 10 s: %r" % seen[-200:])
            times.append(time.perf_counter() - t0)
            port.close()
        finally:
            q.stop()
    return statistics.median(times)


def exec_round_trip(target, n=100):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        target.exec("x=1")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def raw_paste_rate(target, size=32 * 1024):
    code = "x = '" + "a" * (size - 7) + "'\n"
    t0 = time.perf_counter()
    target.exec(code, timeout=60)
    return len(code) / (time.perf_counter() - t0) / 1024


# The kernel-like payload for the upload figure: a Linux arm64 Image (Debian's,
# where the build has fetched it; it deflates about 3:1 whole, 2:1 over its
# first 4 MiB), else the firmware's own ELF (about 2.7:1).
LINUX_IMAGE = boards.BUILD / "deps" / "linux" / "files" / "Image"


def upload_rates(target, heap_end, board, size=4 << 20):
    """Target.upload over the target's pty into RAM above the firmware's heap,
    of `size` random bytes (they go as they are) and of the first `size`
    bytes of a kernel-like image (deflated where that helps): for each,
    payload MB/s (bytes stored per second) and line MB/s (bytes sent).
    Where the target has an upload channel (QEMU virt's virtio console) the
    same two go over it too: upload_virtio_* (framed, not deflated, as
    upload() sends there by default)."""
    kernel = LINUX_IMAGE if LINUX_IMAGE.exists() else boards.elf_path(board)
    with open(kernel, "rb") as f:
        payloads = {"random": os.urandom(size), "kernel": f.read(size)}
    for base, length in target.call("aarch64.ram"):
        pa = max(base, (heap_end + (4 << 20)) & ~((2 << 20) - 1))
        if pa + size <= base + length:
            rates = {}
            channels = [("uart", "upload_")] + ([("virtio", "upload_virtio_")] if target.upload_channel else [])
            for channel, prefix in channels:
                for name, data in payloads.items():
                    r = target.upload(data, pa, channel=channel)
                    rates["%s%s_mb_per_s" % (prefix, name)] = r.payload / r.seconds / 1e6
                    rates["%s%s_line_mb_per_s" % (prefix, name)] = r.line / r.seconds / 1e6
            return rates
    raise RuntimeError("no RAM for a %d-byte upload above 0x%x" % (size, heap_end))


def output_rate(target, lines=16384):
    """MB/s of a program's output streamed to the host (Target.stream): 1 MiB
    by default, as `aarch64-el2 exec 'for i in range(16384): print("x"*63)'`.
    mpremote exec does the same MiB in 9.8 s (0.107 MB/s)."""
    t0 = time.perf_counter()
    n = sum(len(text) for text in target.stream('for i in range(%d): print("x" * 63)' % lines))
    return n / (time.perf_counter() - t0) / 1e6


def cli_invocation(port, runs=5):
    """One `aarch64-el2 -p PORT exec x=1` process, end to end: against a
    running QEMU's pty (our relay's), or with a qemu: URL including the boot."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "host_tools", "-p", port, "exec", "x=1"], capture_output=True)
        times.append(time.perf_counter() - t0)
        if r.returncode:
            raise RuntimeError(r.stderr.decode())
    return statistics.median(times)


def upstream_port(micropy_top):
    """Build upstream ports/qemu (MPS2_AN385) from the cached tree; its QEMU command, or None."""
    from shutil import which
    if not which("arm-none-eabi-gcc"):
        return None, "arm-none-eabi-gcc not installed"
    build = boards.BUILD / "upstream" / "MPS2_AN385"
    r = subprocess.run(["make", "-C", str(micropy_top / "ports/qemu"), "BOARD=MPS2_AN385", "BUILD=%s" % build,
                        "FROZEN_MANIFEST=", "-j2"], capture_output=True, text=True)
    if r.returncode:
        return None, "upstream build failed: " + r.stderr[-300:]
    return ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-monitor", "none", "-display", "none",
            "-semihosting", "-serial", "pty", "-kernel", str(build / "firmware.elf")], None


# The test guest's figures (guests/testguest/timing.c). QEMU's loader puts
# the guest in RAM the firmware maps, away from itself and the VM's RAM (as
# tests/test_vm.py). sleep=off: while every CPU waits in WFI the virtual
# clock jumps to the next timer deadline instead of following the host's
# clock, so a wake-up from WFI costs instructions only, the same every run.
TESTGUEST = boards.BUILD / "guests" / "testguest.bin"
GUEST_LOADER_ADDRESS = {"QEMU_VIRT": 0x7000_0000, "RPI4": 0x3000_0000}
ICOUNT_NO_SLEEP = ["-icount", "shift=0,sleep=off"]
VM_GUEST_FIGURES = ("vm_vtimer_irq_latency_insns", "vm_vtimer_irq_latency_min_insns",
                    "vm_vtimer_irq_round_trip_insns", "vm_console_byte_insns", "vm_console_burst_byte_insns")


def _guest_line(out, pattern):
    m = re.search(r"^testguest: " + pattern, out, re.M)
    if not m:
        raise RuntimeError("the test guest printed no line like %r:\n%s" % (pattern, out[-2000:]))
    return [int(g) for g in m.groups()]


def vm_guest_figures(board, vtimer_n=200, console_n=2048, burst_n=64):
    """The test guest in a VM under -icount: instructions from the virtual
    timer's deadline (CNTV_CVAL) to the guest's IRQ vector (median and min,
    of vtimer_n interrupts taken in WFI), from the deadline back to the
    instruction after the WFI (the whole round trip: the exit for the
    physical interrupt, the injection, the guest's handler, the EOI
    maintenance exit), and per console byte (FR poll and DR write, the
    guest's loop on RAM taken off). Console bytes are posted to a ring
    (port/core/vm.c, 1024 entries) that CPU 0's PL011 model empties: a
    burst of burst_n bytes costs the guest the two exits answered in C
    per byte; a long write runs at the model's pace, the figure being
    the cost of each byte from console_n to 2 * console_n. Every CPU's
    instructions count: the virtual counter is the machine's."""
    loader = "loader,file=%s,addr=0x%x,force-raw=on" % (TESTGUEST, GUEST_LOADER_ADDRESS[board])
    modes = ["mode=vtimer n=%d" % vtimer_n] + ["mode=console n=%d" % n for n in (burst_n, console_n, 2 * console_n)]
    code = VM_GUEST_CODE % {"address": GUEST_LOADER_ADDRESS[board], "size": TESTGUEST.stat().st_size,
                            "modes": modes}
    with Target(boards.qemu_url(board), timeout=60, qemu_extra=ICOUNT_NO_SLEEP + ["-device", loader]) as t:
        runs = ast.literal_eval(t.exec(code, timeout=600).strip())
    for reason, status, out in runs:
        if (reason, status) != ("system_off", 0):
            raise RuntimeError("the test guest ended %s with status %r:\n%s" % (reason, status, out[-2000:]))
    vtimer = runs[0][2]
    hz, = _guest_line(vtimer, r"vtimer: \d+ interrupts, .* counter (\d+) Hz")
    insns = 1e9 / hz                    # per tick: one instruction per ns under shift=0
    lat_min, lat_median, _ = _guest_line(vtimer, r"vtimer: latency ticks min (\d+) median (\d+) max (\d+)")
    _, rt_median, _ = _guest_line(vtimer, r"vtimer: round trip ticks min (\d+) median (\d+) max (\d+)")
    console = {}                        # bytes -> instructions for them, the loop's own taken off
    for _, _, out in runs[1:]:
        n, ticks, loop, hz = _guest_line(out, r"console: (\d+) bytes in (\d+) ticks; "
                                              r"the same loop to RAM (\d+) ticks; counter (\d+) Hz")
        console[n] = (ticks - loop) * 1e9 / hz
    return {"vm_vtimer_irq_latency_insns": lat_median * insns,
            "vm_vtimer_irq_latency_min_insns": lat_min * insns,
            "vm_vtimer_irq_round_trip_insns": rt_median * insns,
            "vm_console_byte_insns": (console[2 * console_n] - console[console_n]) / console_n,
            "vm_console_burst_byte_insns": console[burst_n] / burst_n}


# The Linux guest's CPUs: QEMU's -smp for the direct boot, and the VM's --cpus
# for the boot under the firmware, so both boot the same machine shape.
LINUX_CPUS = 2
LINUX = "linux_guest"


def linux_guest(runs=5):
    """Debian's kernel with our initramfs (build/linux, make linux-assets):
    median wall seconds from starting QEMU to the BusyBox shell prompt,
    booted directly by QEMU and under the firmware, the two taken in turn so
    that whatever else the machine does weighs on both alike."""
    # Under the firmware: the same kernel and initramfs as `make linux`, timed
    # the same way, from starting QEMU (the firmware boots, the VM is made
    # and loaded) to the prompt; and from run() alone. The ratio: goal at
    # most 1.5. QEMU gets one CPU more than the guest, CPU 0, which keeps the
    # REPL: every broadcast TLB invalidation the guest makes wakes each of
    # QEMU's vCPU threads, idle or not, and Linux's early text patching makes
    # tens of thousands of them (with QEMU's default 4 CPUs that phase took
    # 1.7 s, with 3 about 0.9 s, directly 0.45 s).
    direct, totals, runs_only = [], [], []
    for _ in range(runs):
        try:
            shell, seconds = linux.boot_direct(LINUX_CPUS)
        except linux.LinuxError as e:
            return {"skipped": str(e).splitlines()[0]}
        with shell.console:
            direct.append(seconds)
            shell.poweroff()
        start = time.monotonic()
        console = linux.FirmwareConsole(cpus=LINUX_CPUS, smp=LINUX_CPUS + 1)
        try:
            shell = linux.LinuxShell(console)
            from_run = shell.wait_ready()
            totals.append(time.monotonic() - start)
            runs_only.append(from_run)
            shell.poweroff()
        finally:
            console.stop()

    def median(values):
        return sorted(values)[len(values) // 2]
    r = {"cpus": LINUX_CPUS, "runs": runs,
         "direct_qemu_boot_to_shell_s": median(direct),
         "under_firmware_boot_to_shell_s": median(totals),
         "under_firmware_run_to_shell_s": median(runs_only),
         "under_firmware_qemu_cpus": LINUX_CPUS + 1}
    r["ratio_under_firmware_to_direct"] = r["under_firmware_boot_to_shell_s"] / r["direct_qemu_boot_to_shell_s"]
    return r


def run(out_path, micropy_top):
    results = {"units": "instructions under -icount shift=0 unless the name says s, ms, KB/s or MB/s"}
    for board in boards.BOARDS:
        r = {}
        fw = Firmware(boards.elf_path(board))
        r["image_size_bytes"] = fw.loadable_size()
        with Target(boards.qemu_url(board), timeout=60, qemu_extra=ICOUNT) as t:
            r.update(ast.literal_eval(t.exec(TARGET_CODE, timeout=300).strip()))
        r.update(vm_guest_figures(board))
        r["boot_to_prompt_s"] = boot_to_prompt(lambda: Qemu(board))
        with Target(boards.qemu_url(board)) as t:
            r["host_exec_round_trip_ms"] = exec_round_trip(t) * 1000
            r["raw_paste_kb_per_s"] = raw_paste_rate(t)
            r.update(upload_rates(t, fw.symbol("__heap_end"), board))
            r["output_mb_per_s"] = output_rate(t)
        with Qemu(board) as q:
            time.sleep(0.3)
            r["cli_invocation_pty_s"] = cli_invocation(q.port)
        r["cli_invocation_boot_s"] = cli_invocation(boards.qemu_url(board))
        results[board] = r
    cmd, why = upstream_port(micropy_top)
    if cmd:
        up = {"boot_to_prompt_s": boot_to_prompt(lambda: Qemu(command=cmd))}
        # Upstream's UART is on QEMU's own pty: attach to it as to any running target.
        q = Qemu(command=cmd)
        with Target(transport=Transport.attach(q.port, timeout=10, qemu=q)) as t:
            up["host_exec_round_trip_ms"] = exec_round_trip(t) * 1000
        results["upstream_qemu_AN385"] = up
    else:
        results["upstream_qemu_AN385"] = {"skipped": why}
    results[LINUX] = linux_guest()
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)
    return results


GOALS = {
    "read_sysreg_insns": 1500, "enable_disable_insns": 12000, "null_hypercall_insns": 200,
    "python_exit_round_trip_insns": 8000, "host_exec_round_trip_ms": 1.0, "boot_to_prompt_s": 0.3,
    "vm_mmio_store_round_trip_insns": 6000, "vm_psci_version_insns": 300,
    "ratio_under_firmware_to_direct": 1.5,
}
HIGHER_IS_BETTER = {"upload_random_mb_per_s": 1.0, "upload_kernel_mb_per_s": 1.0,
                    "upload_virtio_random_mb_per_s": 1.0, "upload_virtio_kernel_mb_per_s": 1.0,
                    "output_mb_per_s": 0.107}       # output: mpremote's rate


def table(results):
    boards_ = [b for b in results if isinstance(results[b], dict) and "skipped" not in results[b] and b != LINUX]
    names = []
    for b in boards_:
        names += [n for n in results[b] if n not in names]
    lines = ["%-32s %s %s" % ("measure", " ".join("%19s" % b for b in boards_), "  goal")]
    for n in names:
        cells = []
        for b in boards_:
            v = results[b].get(n)
            cells.append("%19s" % ("-" if v is None else ("%.3f" % v if isinstance(v, float) and v < 100 else "%d" % round(v))))
        goal = GOALS.get(n)
        mark = "  < %s" % goal if goal else "  > %s" % HIGHER_IS_BETTER[n] if n in HIGHER_IS_BETTER else ""
        lines.append("%-32s %s %s" % (n, " ".join(cells), mark))
    if "skipped" not in results.get(LINUX, {"skipped": ""}):
        lines.append("%s (%d CPUs):" % (LINUX, results[LINUX]["cpus"]))
        for n, v in results[LINUX].items():
            if n != "cpus":
                goal = GOALS.get(n)
                lines.append("  %-30s %19.3f %s" % (n, v, "  < %s" % goal if goal else ""))
    for b in results:
        if isinstance(results[b], dict) and "skipped" in results[b]:
            lines.append("%s: skipped (%s)" % (b, results[b]["skipped"]))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m host_tools.bench", description=__doc__)
    p.add_argument("--out", default=str(boards.BUILD / "bench.json"))
    p.add_argument("--micropy-top", default=os.environ.get("MICROPY_TOP", str(boards.BUILD / "deps/micropython-1.25.0")))
    args = p.parse_args(argv)
    from pathlib import Path
    results = run(args.out, Path(args.micropy_top))
    print(table(results))
    print("\nwritten to %s" % args.out)
    from . import bench_suite   # MicroPython's test suite and perf_bench, ours beside upstream's
    bench_suite.main([], micropy_top=Path(args.micropy_top))


if __name__ == "__main__":
    main()
