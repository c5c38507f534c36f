"""Running code from the host as an mpremote user expects: output streamed as
the program produces it, -t bounding the target's silence and not the run,
--timeout bounding the run, Ctrl-C stopping the program on the target with
the link left usable, documented exit statuses, global options anywhere.

The streaming checks make the program wait for something only the host can
give after it saw a line (a byte on the UART, a Ctrl-C): that line cannot
have come from a program that had already ended. No check measures time."""
import json
import os
import signal
import subprocess
import termios
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

from host_tools import boards
from host_tools import LinkTimeout, RunTimeout, TargetError, connect
from host_tools.qemu import Qemu
from host_tools.transport import Deadline, DeadlineSerial

from conftest import require_image

CLI = str(Path(sys.executable).with_name("aarch64-el2"))

# Prints a line, then waits for the host's byte on the UART, then says what it got.
WAIT_FOR_BYTE = "import sys\nprint('waiting')\nprint('got', sys.stdin.read(1))\n"
# Prints a line, then spins until interrupted; says so on the way out.
SPIN = "try:\n print('spinning')\n while True: pass\nfinally:\n print('cleanup')\n"


@pytest.fixture(scope="module")
def pty(board):
    """A QEMU of our own, reached by its pty as after `aarch64-el2 boot`."""
    require_image(board)
    q = Qemu(board)
    yield q.port
    q.stop()


def cli(*args, timeout=60):
    return subprocess.run([CLI] + [str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def answers(pty):
    """The link is usable: a new command on the same port works."""
    r = cli("-p", pty, "exec", "print(6 * 7)")
    return r.returncode == 0 and r.stdout == "42\n"


# -- the link reads in blocks (host only) -------------------------------------

class CountingPort:
    """A pyserial port that counts the reads the link makes."""

    def __init__(self, port):
        self.port, self.reads = port, 0

    def read(self, n):
        self.reads += 1
        return self.port.read(n)

    def __getattr__(self, name):
        return getattr(self.port, name)


def test_the_link_takes_what_the_port_holds_in_one_read():
    master, slave = os.openpty()
    try:
        port = CountingPort(serial.Serial(os.ttyname(slave), timeout=0))
        link = DeadlineSerial(port, "pty", Deadline())
        data = b"".join(b"%05d %s\r\n" % (i, b"x" * 56) for i in range(256))    # 16 KiB
        # A pty holds about 4 KiB: the writer waits for the link to read.
        writer = threading.Thread(target=os.write, args=(master, data + b"\x04"))
        writer.start()
        assert link.read_until(b"\x04") == data + b"\x04"
        writer.join()
        assert port.reads <= 16, "%d reads for 16 KiB" % port.reads
        os.write(master, b"abc")
        assert link.read(1) == b"a" and link.in_waiting == 2 and link.read(2) == b"bc"
        port.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_silent_port_times_out_naming_the_bound():
    master, slave = os.openpty()
    try:
        d = Deadline()
        link = DeadlineSerial(serial.Serial(os.ttyname(slave), timeout=0), "pty", d)
        d.set("print(1)", 0.2, idle=0.2)
        with pytest.raises(LinkTimeout, match=r"pty did not answer for 0.2 s \(sent: print\(1\)"):
            link.read(1)
    finally:
        os.close(master)
        os.close(slave)


# -- the Python API -----------------------------------------------------------

def test_stream_yields_a_line_before_the_program_ends(pty):
    with connect(pty) as t:
        seen = ""
        for text in t.stream(WAIT_FOR_BYTE):
            seen += text
            if seen == "waiting\n":
                t.transport.serial.write(b"k")  # the program cannot end without it
        assert seen == "waiting\ngot k\n"
        assert t.eval("6 * 7") == 42


def test_exec_with_a_callback_streams_and_raises_at_the_end(pty):
    with connect(pty) as t:
        pieces = []
        assert t.exec("for i in range(3): print(i, 'é')", on_output=pieces.append) is None
        assert "".join(pieces) == "0 é\n1 é\n2 é\n"
        pieces.clear()
        with pytest.raises(TargetError) as e:
            t.exec("print('before')\n1/0", on_output=pieces.append)
        assert e.value.type == "ZeroDivisionError" and "".join(pieces) == "before\n"


def test_a_megabyte_of_output_arrives_intact(pty):
    with connect(pty) as t:
        out = "".join(t.stream("for i in range(16384): print('%05d' % i, 'x' * 57)"))
    lines = out.split("\n")
    assert len(out) == 1 << 20 and lines[-1] == ""
    assert lines[:-1] == ["%05d %s" % (i, "x" * 57) for i in range(16384)]


def test_leaving_the_loop_early_stops_the_program(pty):
    with connect(pty) as t:
        for text in t.stream("while True: print('spam')"):
            break
        assert t.eval("6 * 7") == 42        # same connection: no new Ctrl-C from a reconnect


def test_interrupt_stops_the_program_as_ctrl_c_does(pty):
    with connect(pty) as t:
        seen = ""
        with pytest.raises(TargetError) as e:
            for text in t.stream(SPIN):
                seen += text
                if seen == "spinning\n":
                    assert t.interrupt()
        assert e.value.type == "KeyboardInterrupt" and seen == "spinning\ncleanup\n"
        assert not t.interrupt()            # nothing runs now
        assert t.eval("6 * 7") == 42


def test_a_silent_program_times_out_and_is_stopped(pty):
    with connect(pty) as t:
        with pytest.raises(LinkTimeout, match="did not answer for 1 s"):
            list(t.stream("import time\ntime.sleep(30)", timeout=1))
        assert t.eval("6 * 7") == 42


def test_overall_bounds_a_program_that_keeps_printing(pty):
    with connect(pty) as t:
        seen = []
        with pytest.raises(RunTimeout):
            for text in t.stream("import time\nwhile True: print('tick'); time.sleep_ms(100)", timeout=5, overall=1):
                seen.append(text)
        assert "".join(seen).startswith("tick\n")
        assert t.eval("6 * 7") == 42


# -- the CLI ------------------------------------------------------------------

def test_exec_and_run_stream_output_and_ctrl_c_stops_the_program(pty, tmp_path):
    script = tmp_path / "spin.py"
    script.write_text(SPIN)
    for args in (["exec", SPIN], ["run", script]):
        p = subprocess.Popen([CLI, "-p", pty] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline() == "spinning\n"     # the program is still running
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        finally:
            p.kill()
        assert p.returncode == 130, err
        assert out == "cleanup\n"       # the target's program got the Ctrl-C
        assert "KeyboardInterrupt" in err and err.endswith("interrupted\n")
        assert answers(pty)


def test_t_bounds_silence_not_the_run(pty):
    # Prints for about 2 s in all with -t 1: runs to the end.
    r = cli("-p", pty, "-t", "1", "exec", "import time\nfor i in range(10): print(i); time.sleep_ms(200)")
    assert r.returncode == 0 and r.stdout == "".join("%d\n" % i for i in range(10)), r.stderr
    r = cli("-p", pty, "-t", "1", "exec", "import time\nprint('start')\ntime.sleep(30)")
    assert r.returncode == 3 and r.stdout == "start\n"
    assert "did not answer for 1 s" in r.stderr
    assert answers(pty)


def test_timeout_bounds_the_whole_run(pty):
    r = cli("-p", pty, "exec", "--timeout", "1", "import time\nwhile True: print('tick'); time.sleep_ms(100)")
    assert r.returncode == 3 and r.stdout.startswith("tick\n")
    assert "did not finish within the run's time bound" in r.stderr
    assert answers(pty)


def test_exit_statuses(pty):
    assert cli("-p", pty, "exec", "print(1)").returncode == 0
    r = cli("-p", pty, "exec", "raise ValueError('no')")
    assert r.returncode == 1 and r.stderr.endswith("ValueError: no\n")
    assert cli("-p", pty, "exec").returncode == 2                      # CODE missing
    assert cli("-p", pty, "exec", "--no-such-option", "1").returncode == 2
    assert cli("-p", "qemu:nosuchboard", "exec", "1").returncode == 2
    assert cli("-p", "/dev/no-such-port", "exec", "1").returncode == 3
    master, slave = os.openpty()        # a port where nothing answers
    try:
        r = cli("-t", "1", "-p", os.ttyname(slave), "exec", "1")
        assert r.returncode == 3 and "did not answer" in r.stderr
    finally:
        os.close(master)
        os.close(slave)
    # 130 (Ctrl-C): test_exec_and_run_stream_output_and_ctrl_c_stops_the_program


def test_help_documents_the_exit_statuses():
    out = cli("--help").stdout
    for line in ("0    success", "1    the target raised", "2    usage", "3    the link failed", "130  interrupted"):
        assert line in out


def test_global_options_before_or_after_the_command(pty):
    for args in (["-p", pty, "-t", "3", "-b", "115200", "exec", "print(6 * 7)"],
                 ["exec", "print(6 * 7)", "-p", pty, "-t", "3", "--baud", "115200"],
                 ["exec", "-p", pty, "print(6 * 7)"]):
        r = cli(*args)
        assert (r.returncode, r.stdout) == (0, "42\n"), (args, r.stderr)
    for args in (["--json", "-p", pty, "sysreg", "read", "TPIDR_EL2"],
                 ["sysreg", "read", "TPIDR_EL2", "--json", "-p", pty],
                 ["-p", pty, "sysreg", "--json", "read", "TPIDR_EL2"]):
        r = cli(*args)
        assert r.returncode == 0 and r.stdout.startswith('{"name": "TPIDR_EL2"'), (args, r.stdout, r.stderr)


def test_qemu_dying_mid_run_is_a_link_failure(board):
    require_image(board)
    q = Qemu(board)
    try:
        p = subprocess.Popen([CLI, "-p", q.port, "exec", SPIN], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline() == "spinning\n"
            q.proc.kill()
            out, err = p.communicate(timeout=60)
        finally:
            p.kill()
        assert p.returncode == 3 and err.startswith("error: %s" % q.port), err
    finally:
        q.stop()


# -- boot --env and devs -------------------------------------------------------

def test_boot_env_sets_el2_port_for_the_next_commands(board):
    require_image(board)
    r = cli("boot", "--env", "--board", board, timeout=60)   # returns: QEMU stays in the background
    assert r.returncode == 0, r.stderr
    env = dict(os.environ)
    for assignment in r.stdout.splitlines()[0].split(";")[:3]:
        name, value = assignment.strip().split("=")
        env[name] = value
    try:
        assert r.stdout.splitlines()[0].endswith("export EL2_PORT EL2_ELF EL2_BOOT_PID")
        assert env["EL2_ELF"] == str(boards.elf_path(board))    # fault reports name code (--elf)
        out = subprocess.run([CLI, "exec", "print(6 * 7)"], capture_output=True, text=True, timeout=60, env=env)
        assert (out.returncode, out.stdout) == (0, "42\n"), out.stderr
    finally:
        os.kill(int(env["EL2_BOOT_PID"]), signal.SIGTERM)     # stops QEMU: its pty goes away
    for _ in range(100):
        if not os.path.exists(env["EL2_PORT"]):
            break
        time.sleep(0.1)
    assert not os.path.exists(env["EL2_PORT"])


def test_devs_lists_the_serial_ports_pyserial_finds():
    from serial.tools.list_ports import comports
    r = cli("devs", "--json")
    assert r.returncode == 0
    assert [p["device"] for p in json.loads(r.stdout)] == sorted(p.device for p in comports())
    r = cli("devs")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(comports())


def test_p_auto_names_what_it_found():
    from serial.tools.list_ports import comports
    usb = [p.device for p in comports() if p.vid is not None]
    if len(usb) == 1:
        pytest.skip("one USB serial adapter here (%s): -p auto would use it" % usb[0])
    r = cli("-p", "auto", "status")
    if usb:
        assert r.returncode == 2 and "several USB serial adapters" in r.stderr
    else:
        assert r.returncode == 3 and "no USB serial adapter found" in r.stderr


def test_enable_and_disable_report_json(pty):
    rows = json.loads(cli("-p", pty, "enable", "--cpu", "1", "--json").stdout)
    assert [(r["cpu_id"], r["enabled"]) for r in rows] == [(1, True)]
    rows = json.loads(cli("disable", "--all", "--json", "-p", pty).stdout)
    assert [r["enabled"] for r in rows] == [False] * len(rows) and len(rows) >= 1


# -- standard input -------------------------------------------------------------

ASK = 'print("hello", input("name? "))\n'


def test_piped_stdin_reaches_input(pty):
    r = subprocess.run([CLI, "-p", pty, "exec", ASK + "print(input())"], input="world\nagain\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "name? world\nhello world\nagain\nagain\n"     # the target echoes what it reads


def test_a_terminal_on_stdin_is_typed_into_the_program(pty):
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([CLI, "-p", pty, "exec", ASK], stdin=slave, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            seen = b""
            while not seen.endswith(b"name? "):     # the prompt, before anything was typed
                c = p.stdout.read(1)
                assert c, p.stderr.read()
                seen += c
            os.write(master, b"world\r")            # as a person types it, Enter included
            out, err = p.communicate(timeout=60)
        finally:
            p.kill()
        assert p.returncode == 0, err
        assert (seen + out).decode() == "name? world\nhello world\n"
        assert termios.tcgetattr(slave) == before   # the terminal is left as it was
    finally:
        os.close(master)
        os.close(slave)


def test_boot_json_names_the_port(board):
    require_image(board)
    p = subprocess.Popen([CLI, "--json", "boot", "--board", board], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(p.stdout.readline())
        assert info["board"] == board and info["pid"] == p.pid
        r = cli("-p", info["port"], "exec", "print(6 * 7)")
        assert (r.returncode, r.stdout) == (0, "42\n"), r.stderr
    finally:
        p.terminate()
        p.wait(timeout=30)
