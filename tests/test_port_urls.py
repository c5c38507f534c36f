"""pyserial's URL schemes as target ports: spy:// wraps any port and writes
a traffic log of both directions for free (README, "A target is named the
same way everywhere")."""
import re

from host_tools.qemu import Qemu
from host_tools.target_api import Target
from host_tools.transport import Transport

from conftest import require_image


def test_a_spy_url_runs_code_and_logs_both_directions(tmp_path):
    require_image("QEMU_VIRT")
    log = tmp_path / "traffic.log"
    q = Qemu("QEMU_VIRT")
    t = Target(transport=Transport.attach("spy://%s?file=%s" % (q.port, log), qemu=q))
    try:
        assert t.exec("print(6 * 7)").strip() == "42"
    finally:
        t.close()
    lines = log.read_text().splitlines()
    # pyserial's hex dump: "<time> TX|RX <offset> <hex bytes> <ascii>"
    def data(direction):
        dump = re.compile(r"\S+ %s +[0-9A-F]{4} +((?:[0-9A-F]{2} {1,2})+)" % direction)
        return b"".join(bytes.fromhex(m.group(1)) for m in map(dump.match, lines) if m)
    sent, got = data("TX"), data("RX")
    assert b"print(6 * 7)" in sent
    assert b"42\r\n" in got
