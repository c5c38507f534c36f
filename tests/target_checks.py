"""Helpers for the on-target tests: run a file of tests/target/ as
`mpremote run` would, and check that Ctrl-C stops a running program."""
import ast
from pathlib import Path

TARGET_FILES = Path(__file__).parent / "target"


def run_file(target, name, timeout=None, **params):
    """Run tests/target/<name> with `params` set as globals; its last printed line, parsed."""
    head = "".join("%s = %r\n" % kv for kv in params.items())
    out = target.exec(head + (TARGET_FILES / name).read_text(), timeout=timeout)
    return ast.literal_eval(out.strip().splitlines()[-1])


def interrupted_by_ctrl_c(t):
    """A program running on target `t` (a connected Target) is stopped by
    Ctrl-C: KeyboardInterrupt is its error."""
    t.transport.exec_raw_no_follow("print('running')\nwhile True:\n    pass")
    t._op("start a busy loop", lambda: t.transport.read_until(1, b"running\r\n"))
    t.transport.serial.write(b"\x03")
    out, err = t._op("Ctrl-C", lambda: t.transport.follow(10))
    return b"KeyboardInterrupt" in err
