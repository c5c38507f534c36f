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
import statistics
import subprocess
import sys
import time

import serial

from . import boards
from .bench_target import TARGET_CODE
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


def upload_rate(target, heap_end, size=4 << 20):
    """MB/s of Target.upload (aarch64.receive) of `size` random bytes into
    RAM above the firmware's heap, over the target's pty."""
    for base, length in target.call("aarch64.ram"):
        pa = max(base, (heap_end + (4 << 20)) & ~((2 << 20) - 1))
        if pa + size <= base + length:
            data = os.urandom(size)
            t0 = time.perf_counter()
            target.upload(data, pa)
            return size / (time.perf_counter() - t0) / 1e6
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


def run(out_path, micropy_top):
    results = {"units": "instructions under -icount shift=0 unless the name says s, ms, KB/s or MB/s"}
    for board in boards.BOARDS:
        r = {}
        fw = Firmware(boards.elf_path(board))
        r["image_size_bytes"] = fw.loadable_size()
        with Target(boards.qemu_url(board), timeout=60, qemu_extra=ICOUNT) as t:
            r.update(ast.literal_eval(t.exec(TARGET_CODE, timeout=300).strip()))
        r["boot_to_prompt_s"] = boot_to_prompt(lambda: Qemu(board))
        with Target(boards.qemu_url(board)) as t:
            r["host_exec_round_trip_ms"] = exec_round_trip(t) * 1000
            r["raw_paste_kb_per_s"] = raw_paste_rate(t)
            r["upload_mb_per_s"] = upload_rate(t, fw.symbol("__heap_end"))
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
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)
    return results


GOALS = {
    "read_sysreg_insns": 1500, "enable_disable_insns": 12000, "null_hypercall_insns": 200,
    "python_exit_round_trip_insns": 8000, "host_exec_round_trip_ms": 1.0, "boot_to_prompt_s": 0.3,
    "vm_mmio_store_round_trip_insns": 6000, "vm_psci_version_insns": 300,
}
HIGHER_IS_BETTER = {"upload_mb_per_s": 1.0, "output_mb_per_s": 0.107}    # output: mpremote's rate


def table(results):
    boards_ = [b for b in results if isinstance(results[b], dict) and "skipped" not in results[b]]
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
