"""make bench, MicroPython's side: its test suite and its tests/perf_bench on
our firmware (both boards) and on upstream's ports/qemu (MPS2_AN385, a
Cortex-M3) built from the same cached 1.25.0 tree, side by side.

    python -m host_tools.bench_suite [--micropy-top DIR] [--out FILE]

Suite: host_tools.suite runs SUITE_DIRS on each target; the counts are
run-tests.py's own. Upstream is built as upstream tests it, with unittest
frozen in (our stand-in, suite_lib/unittest.py: micropython-lib is not in
MicroPython's Debian source).

Speed: tests/run-perfbench.py under QEMU -icount shift=0, where the guest's
clock advances one nanosecond per instruction, so a benchmark's time in
microseconds is thousands of instructions. Upstream's ports/qemu has no time
module; its perf build freezes suite_lib/an385_time/time.py, ticks_us() from
the board's CMSDK timer (25 MHz, also on the virtual clock).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from shutil import which

from . import boards, suite
from .qemu import Qemu

ICOUNT = ["-icount", "shift=0"]
PERF_N, PERF_M = 100, 100       # run-perfbench.py's N (MHz-ish) and M (heap KB): a pyboard's
SUITE_LIB = Path(__file__).resolve().parent / "suite_lib"
UPSTREAM = "upstream_qemu_MPS2_AN385"


def upstream_build(micropy_top, variant, modules):
    """Build upstream ports/qemu MPS2_AN385 with `modules` (paths) frozen; its QEMU command."""
    if not which("arm-none-eabi-gcc"):
        raise RuntimeError("arm-none-eabi-gcc not installed (make bench installs it)")
    build = boards.BUILD / "upstream" / ("MPS2_AN385-" + variant)
    build.mkdir(parents=True, exist_ok=True)
    manifest = build / "manifest.py"
    manifest.write_text("".join('module("%s", base_path="%s")\n' % (Path(m).name, Path(m).parent) for m in modules))
    mpy_cross = boards.BUILD / "mpy-cross" / "mpy-cross"
    # MPY_LIB_DIR: any folder with a README.md (the build checks for one);
    # micropython-lib itself is empty in the Debian source.
    r = subprocess.run(["make", "-C", str(Path(micropy_top) / "ports/qemu"), "BOARD=MPS2_AN385", "BUILD=%s" % build,
                        "FROZEN_MANIFEST=%s" % manifest, "MPY_LIB_DIR=%s" % (boards.PROJECT_TOP / "firmware"),
                        "MICROPY_MPYCROSS=%s" % mpy_cross, "-j2"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("upstream build failed: " + (r.stdout + r.stderr)[-600:])
    return ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-monitor", "none", "-display", "none",
            "-semihosting", "-kernel", str(build / "firmware.elf")]


def upstream_suite(micropy_top, command):
    """The suite on upstream, shards side by side, each run-tests.py starting its own QEMU."""
    t0 = time.monotonic()
    results = [None] * len(suite.SHARDS)

    def shard(i, dirs):
        try:
            results[i] = suite.run_tests("execpty:" + " ".join(command + ["-serial", "pty"]), dirs, micropy_top)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=shard, args=(i, d)) for i, d in enumerate(suite.SHARDS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    total = suite.SuiteResult()
    for r in results:
        if isinstance(r, Exception):
            raise r
        total.add(r)
    total.seconds = time.monotonic() - t0
    return total


PERF_LINE = re.compile(r"^perf_bench/(\S+)\.py: (.*)$", re.M)


def perfbench(device, micropy_top):
    """{benchmark: thousands of instructions, or 'SKIP'/'CRASH...'} from run-perfbench.py on `device`."""
    tests_dir = Path(micropy_top) / "tests"
    r = subprocess.run([sys.executable, "run-perfbench.py", "-p", "-d", device, "-a", "1", str(PERF_N), str(PERF_M)],
                       cwd=tests_dir, capture_output=True, text=True, timeout=3600, env=suite.run_tests_env())
    out = r.stdout + r.stderr
    rows = {}
    for name, rest in PERF_LINE.findall(out):
        fields = rest.split()
        try:
            rows[name] = float(fields[0])      # microseconds of virtual time = 1000s of instructions
        except (ValueError, IndexError):
            rows[name] = rest.strip()
    if not rows:
        raise RuntimeError("run-perfbench.py gave no results:\n" + out[-2000:])
    return rows


def our_perfbench(board, micropy_top):
    with Qemu(board, extra=ICOUNT) as q:
        suite.wait_for_prompt(q.port, timeout=30)
        return perfbench(q.port, micropy_top)


def run(micropy_top, out_path):
    results = {"suite_dirs": list(suite.SUITE_DIRS), "suite": {}, "perf_bench_kinsns": {}}
    for board in boards.BOARDS:
        r = suite.run_board(board, micropy_top)
        results["suite"][board] = _counts(r)
    try:
        cmd = upstream_build(micropy_top, "suite", [SUITE_LIB / "unittest.py"])
        results["suite"][UPSTREAM] = _counts(upstream_suite(micropy_top, cmd))
    except Exception as e:
        results["suite"][UPSTREAM] = {"skipped": str(e)}
    for board in boards.BOARDS:
        results["perf_bench_kinsns"][board] = our_perfbench(board, micropy_top)
    try:
        cmd = upstream_build(micropy_top, "perf", [SUITE_LIB / "an385_time" / "time.py"])
        results["perf_bench_kinsns"][UPSTREAM] = perfbench("execpty:" + " ".join(cmd + ICOUNT + ["-serial", "pty"]),
                                                           micropy_top)
    except Exception as e:
        results["perf_bench_kinsns"][UPSTREAM] = {"skipped": str(e)}
    with open(out_path, "w") as f:
        json.dump(results, f, indent=2)
    return results


def _counts(r):
    return {"passed": r.passed, "failed": len(r.failed), "skipped": r.skipped, "performed": r.performed,
            "failed_tests": r.failed, "seconds": round(r.seconds)}


def table(results):
    lines = ["MicroPython's test suite (%s)" % " ".join(results["suite_dirs"]),
             "%-26s %7s %7s %7s %7s" % ("target", "passed", "failed", "skipped", "s")]
    for target, c in results["suite"].items():
        if "skipped" in c and isinstance(c["skipped"], str):
            lines.append("%-26s skipped: %s" % (target, c["skipped"]))
        else:
            lines.append("%-26s %7d %7d %7d %7d" % (target, c["passed"], c["failed"], c["skipped"], c["seconds"]))
            if c["failed_tests"]:
                lines.append("    failed: " + " ".join(c["failed_tests"]))
    perf = results["perf_bench_kinsns"]
    targets = list(perf)
    names = sorted({n for t in targets if "skipped" not in perf[t] for n in perf[t]})
    lines += ["", "tests/perf_bench, thousands of instructions (QEMU -icount shift=0; N=%d M=%d)" % (PERF_N, PERF_M),
              "%-24s %s" % ("benchmark", " ".join("%26s" % t for t in targets))]
    for n in names:
        cells = []
        for t in targets:
            v = perf[t].get(n, "-") if "skipped" not in perf[t] else "-"
            cells.append("%26s" % ("{:,.0f}".format(v) if isinstance(v, float) else str(v)[:26]))
        lines.append("%-24s %s" % (n, " ".join(cells)))
    for t in targets:
        if "skipped" in perf[t]:
            lines.append("%s: skipped (%s)" % (t, perf[t]["skipped"]))
    return "\n".join(lines)


def main(argv=None, micropy_top=None):
    p = argparse.ArgumentParser(prog="python -m host_tools.bench_suite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--micropy-top", default=os.environ.get("MICROPY_TOP", str(suite.DEFAULT_MICROPY_TOP)))
    p.add_argument("--out", default=str(boards.BUILD / "bench_suite.json"))
    args = p.parse_args(argv if argv is not None else ([] if micropy_top else None))
    results = run(Path(micropy_top or args.micropy_top), args.out)
    print(table(results))
    print("\nwritten to %s" % args.out)


if __name__ == "__main__":
    main()
