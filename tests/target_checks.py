"""Helpers for the on-target tests: run a file of tests/target/ as
`mpremote run` would (conftest.target_result, under its older name), and
check that Ctrl-C stops a running program."""
from conftest import target_result as run_file     # noqa: F401 (the name these tests use)


def interrupted_by_ctrl_c(t):
    """A program running on target `t` (a connected Target) is stopped by
    Ctrl-C: KeyboardInterrupt is its error."""
    t.transport.exec_raw_no_follow("print('running')\nwhile True:\n    pass")
    t._op("start a busy loop", lambda: t.transport.read_until(1, b"running\r\n"))
    t.transport.serial.write(b"\x03")
    out, err = t._op("Ctrl-C", lambda: t.transport.follow(10))
    return b"KeyboardInterrupt" in err
