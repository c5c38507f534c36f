"""MicroPython's tools/pyboard.py as run-tests.py and run-perfbench.py use it,
with one change: a test may be silent for 60 s, not 10, before it counts as a
crash. host_tools.suite puts this folder on PYTHONPATH, ahead of the
`../tools` those scripts append to sys.path, so `import pyboard` finds this
module, which loads the real one from the MicroPython tree unmodified.

Why: with a 32 MiB heap, tests that fill the heap until MemoryError
(micropython/extreme_exc.py, basics/memoryerror.py) spend several seconds in
the garbage collector without printing; on a loaded 2-core host that passed
10 s and the test was reported as a crash though it then printed the right
output.
"""
import importlib.util
import os
import sys

SILENCE_S = 60

_tools = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "..", "tools", "pyboard.py")
_spec = importlib.util.spec_from_file_location("pyboard_upstream", _tools)
_upstream = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_upstream)
globals().update({k: v for k, v in vars(_upstream).items() if not k.startswith("__")})


class Pyboard(_upstream.Pyboard):
    def exec_raw(self, command, timeout=SILENCE_S, data_consumer=None):
        return super().exec_raw(command, timeout, data_consumer)
