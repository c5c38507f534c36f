"""Host tools for the MicroPython EL2 firmware.

    from host_tools import connect
    with connect("qemu:virt?smp=4") as t:
        print(t.read_sysreg("HCR_EL2", cpu=2))
"""
from .link import LinkError, LinkTimeout, Target, TargetError, connect

__all__ = ["connect", "Target", "TargetError", "LinkError", "LinkTimeout"]
