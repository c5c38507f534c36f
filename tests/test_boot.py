"""The firmware boots to a REPL at EL2 and behaves as a MicroPython board."""
import ast
import subprocess
import sys

from conftest import TARGET_DIR, target_result


def test_runs_at_el2(target):
    assert target.eval("__import__('aarch64').current_el()") == 2


def test_vbar_el2_holds_the_host_vector_table_from_boot(target, firmware):
    vbar = target.read_sysreg("VBAR_EL2")
    assert vbar == firmware.symbol("host_exception_vectors")
    assert vbar % 0x800 == 0


def test_os_uname_names_the_board(target, board):
    machine = target.eval("__import__('os').uname().machine")
    assert machine.startswith(board + " ")


def test_heap_is_at_least_16_mib(target):
    total = target.eval("__import__('gc').mem_free() + __import__('gc').mem_alloc()")
    assert total >= 16 * 1024 * 1024


def test_time_follows_the_generic_timer(target):
    elapsed = target_result(target, "sleep_ms.py", MS=200)
    assert 200 <= elapsed < 260


def test_cpu_id_is_the_boot_cpu(target):
    assert target.eval("__import__('aarch64').cpu_id()") == 0


def test_traceback_for_division_by_zero(console):
    console.send("1/0\r")
    out = console.expect(">>> ")
    assert "Traceback (most recent call last):" in out
    assert "ZeroDivisionError: divide by zero" in out


def test_ctrl_c_stops_a_busy_loop(console):
    console.send("while True: pass\r\r")
    console.expect("... \r\n")
    console.send("\x03")
    out = console.expect(">>> ")
    assert "KeyboardInterrupt" in out
    console.send("print(6 * 7)\r")
    assert "42" in console.expect(">>> ")


def test_ctrl_d_soft_reset_clears_state(console):
    console.send("x = 123\r")
    console.expect(">>> ")
    console.send("\x04")
    assert "MPY: soft reboot" in console.expect(">>> ")
    console.send("print('x' in globals())\r")
    assert "False" in console.expect(">>> ")


def _mpremote(port, *args):
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                          capture_output=True, text=True, timeout=30)


def test_mpremote_exec_and_run(console, board):
    port = console.qemu.port
    console.port.close()     # mpremote needs the port to itself
    r = _mpremote(port, "exec", "import aarch64; print('EL', aarch64.current_el())")
    assert r.returncode == 0, r.stderr
    assert "EL 2" in r.stdout
    r = _mpremote(port, "run", str(TARGET_DIR / "whoami.py"))
    assert r.returncode == 0, r.stderr
    assert ast.literal_eval(r.stdout.strip()) == (board, 2)
