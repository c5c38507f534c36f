"""Host tools for the MicroPython EL2 firmware.

    from host_tools import connect
    with connect("qemu:virt?smp=4") as t:
        print(t.read_sysreg("HCR_EL2", cpu=2))

Layers, from the bottom: qemu.py boots QEMU, transport.py is the raw REPL on
a port (deadlines, recovery, errors), target_api.py the firmware's calls
(Target), cli.py the aarch64-el2 command.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("host_tools")     # pyproject.toml's, the one place it is written
except PackageNotFoundError:                 # run from a source tree that was never installed
    __version__ = "unknown"

from .target_api import Target, connect
from .transport import LinkError, LinkTimeout, RunTimeout, TargetError, Transport

__all__ = ["__version__", "connect", "Target", "Transport", "TargetError", "LinkError", "LinkTimeout", "RunTimeout"]
