"""The firmware's own state stays truthful: a RAM disk that lost its
filesystem is reformatted out loud, and a cross-call that times out says
whether its write happened. On-target code in tests/target/ (runnable by
hand: mpremote run tests/target/<file>)."""
from conftest import require_image
from qemu_pipe import PipeQemu
from target_checks import run_file

ETIMEDOUT, EINPROGRESS = 110, 115
# port/core/smp.h: a call must start within SMP_CALL_TIMEOUT_MS, and a started
# one may take SMP_CALL_FINISH_MS more.
DEADLINE_MS, FINISH_MS = 1000, 1000



# -- the filesystem at / ---------------------------------------------------------

# The RAM disk's own files: / also lists where other filesystems are mounted
# (/flash on QEMU virt).
RAM_LS = "[n for n in os.listdir('/') if n != 'flash']"

def test_a_ram_disk_that_lost_its_filesystem_is_reformatted_and_the_console_says_so(console):
    console.send("import aarch64, os; open('/keep.txt', 'w').write('x'); print(%s)\r" % RAM_LS)
    assert "['keep.txt']" in console.expect(">>> ")
    console.send("\x04")                                    # an ordinary soft reset: quiet, files kept
    out = console.expect(">>> ")
    assert "MPY: soft reboot" in out and "[/:" not in out
    console.send("import aarch64, os; print(%s)\r" % RAM_LS)
    assert "['keep.txt']" in console.expect(">>> ")
    console.send("aarch64.RamDisk().writeblocks(0, bytearray(1024))\r")     # both superblocks gone
    console.expect(">>> ")
    console.send("\x04")
    out = console.expect(">>> ")
    assert "[/: the RAM disk holds no filesystem any more" in out and "its files are lost]" in out
    console.send("import os; print(%s)\r" % RAM_LS)
    assert "[]" in console.expect(">>> ")


def test_a_cold_boot_formats_the_blank_ram_disk_quietly(board):
    require_image(board)
    with PipeQemu(board) as q:
        q.resume()
        text = q.expect(b">>> ")
        assert b"[/:" not in text
        q.write(b"import os, aarch64; print(%s, aarch64.RamDisk().blank())\r" % RAM_LS.encode())
        assert b"[] False" in q.expect(b">>> ")          # formatted: no longer blank


# -- cross-calls around their deadline ---------------------------------------------

def test_a_call_the_cpu_started_is_waited_for_and_its_result_reported(target):
    # The CPU starts the write, then stalls 300 ms inside it. Reported as a
    # timeout before (with a 100 ms deadline), although the write landed.
    (ms, _, err, landed, waited), = run_file(target, "crosscall_truth.py", STALLS=[(300, True)])
    assert err == 0 and landed
    assert waited >= 300


def test_a_call_the_cpu_never_started_times_out_and_changes_nothing(target):
    (ms, _, err, landed, waited), = run_file(target, "crosscall_truth.py", STALLS=[(DEADLINE_MS + 400, False)], timeout=30)
    assert err == ETIMEDOUT and not landed


def test_a_call_stuck_inside_the_cpu_says_it_may_have_happened(target):
    (ms, _, err, landed, waited), = run_file(target, "crosscall_truth.py", STALLS=[(DEADLINE_MS + FINISH_MS + 500, True)], timeout=30)
    assert err == EINPROGRESS and landed          # it did happen, after the caller gave up waiting
    assert target.read_sysreg("MPIDR_EL1", cpu=1) & 0xFF == 1     # and the CPU answers again


def test_no_timeout_is_reported_for_a_write_that_landed(target):
    # Stalls of every length around the deadline, before and inside the call.
    stalls = [(ms, in_call) for ms in range(DEADLINE_MS - 20, DEADLINE_MS + 24, 8) for in_call in (False, True)]
    results = run_file(target, "crosscall_truth.py", STALLS=stalls, timeout=120)
    for ms, in_call, err, landed, waited in results:
        assert err in (0, ETIMEDOUT, EINPROGRESS), (ms, in_call, err)
        if err == ETIMEDOUT:
            assert not landed, (ms, in_call, "timed out, yet the write landed")
        if err == 0:
            assert landed, (ms, in_call, "reported done, yet nothing landed")
