"""Host tools for the MicroPython EL2 firmware.

    from host_tools import connect
    with connect("qemu:virt?smp=4") as t:
        print(t.read_sysreg("HCR_EL2", cpu=2))

Layers, from the bottom: qemu.py boots QEMU, transport.py is the raw REPL on
a port (deadlines, recovery, errors), target_api.py the firmware's calls
(Target), cli.py the aarch64-el2 command.
"""
from .target_api import Target, connect
from .transport import LinkError, LinkTimeout, RunTimeout, TargetError, Transport

__all__ = ["connect", "Target", "Transport", "TargetError", "LinkError", "LinkTimeout", "RunTimeout"]
