"""Choosing QEMU virt's GIC version on the host side (no target): the
board's QEMU_GIC_VERSIONS, qemu:virt?gic=3 URLs and EL2_QEMU_GIC."""
import pytest

from host_tools import LinkError, boards
from host_tools.transport import parse_qemu_url, qemu_url_gic


def machine_args(cmd):
    return [cmd[i + 1] for i, w in enumerate(cmd) if w == "-M"]


def test_virt_offers_gicv2_and_gicv3_and_the_pi_a_fixed_gic():
    assert boards.BOARDS["QEMU_VIRT"].gic_versions == ("2", "3")
    assert boards.BOARDS["RPI4"].gic_versions == ()


def test_gic_3_adds_the_machine_option_and_2_is_the_default(monkeypatch):
    monkeypatch.delenv(boards.GIC_ENV, raising=False)
    assert machine_args(boards.qemu_command("QEMU_VIRT", gic=3))[-1] == "gic-version=3"
    assert machine_args(boards.qemu_command("QEMU_VIRT", gic=2)) == machine_args(boards.qemu_command("QEMU_VIRT"))
    with pytest.raises(boards.BoardError, match="only 2 or 3"):
        boards.qemu_command("QEMU_VIRT", gic=4)
    with pytest.raises(boards.BoardError, match="its GIC is fixed"):
        boards.qemu_command("RPI4", gic=3)


def test_the_environment_chooses_for_every_run_of_a_board_with_a_choice(monkeypatch):
    monkeypatch.setenv(boards.GIC_ENV, "3")
    assert machine_args(boards.qemu_command("QEMU_VIRT"))[-1] == "gic-version=3"
    assert machine_args(boards.qemu_command("RPI4")) == ["raspi4b"]     # ignored where the GIC is fixed
    assert machine_args(boards.qemu_command("QEMU_VIRT", gic=2))[-1] != "gic-version=3"


def test_target_urls_say_gic_3():
    assert parse_qemu_url("qemu:virt?smp=2&gic=3") == ("QEMU_VIRT", 2)
    assert qemu_url_gic("qemu:virt?smp=2&gic=3") == "3"
    assert qemu_url_gic("qemu:virt") is None
    with pytest.raises(LinkError, match="gic=2 or gic=3"):
        parse_qemu_url("qemu:virt?gic=4")
    with pytest.raises(LinkError, match="a fixed GIC"):
        parse_qemu_url("qemu:raspi4b?gic=3")
