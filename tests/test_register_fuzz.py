"""The register fuzz (tests/target/register_fuzz.py): every register of the
table on every CPU, with 0, all ones, random values and every single-bit
flip, with virtualization disabled and enabled. Each write raises ValueError
and changes nothing, faults, or leaves the firmware working; afterwards the
next command answers and Ctrl-C stops a running program. The counts follow
the write policy: a read-only register takes no write, a free one refuses
none."""
import pytest

from conftest import qemu_url, require_image
from host_tools import connect
from host_tools.target import sysregs
from target_checks import interrupted_by_ctrl_c, run_file


@pytest.mark.parametrize("enabled", [False, True], ids=["disabled", "enabled"])
def test_register_fuzz(board, enabled):
    require_image(board)
    with connect(qemu_url(board), timeout=10) as t:
        results, problems, count = run_file(t, "register_fuzz.py", timeout=600, ENABLED=enabled)
        assert count == 0, problems
        assert set(results) == set(sysregs.REGISTERS)
        for name, (accepted, refused, faulted) in results.items():
            decision = sysregs.write_policy(name)[0]
            if decision == sysregs.READ_ONLY:
                assert accepted == 0 and faulted == 0, (name, results[name])
            elif decision in (sysregs.FREE, sysregs.CONSEQUENCE):
                assert refused == 0, (name, results[name])
            else:
                assert refused > 0 and accepted > 0, (name, results[name])
        assert t.eval("6 * 7") == 42
        assert interrupted_by_ctrl_c(t)
        assert t.eval("6 * 7") == 42
