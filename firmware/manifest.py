# Python frozen into the firmware image.
freeze(".", ("_boot.py", "sysregs.py", "pcpu_status.py", "pcpu.py", "vcpu.py"))
# asyncio's Python part, from the MicroPython tree (its C part, _asyncio, is
# compiled in with MICROPY_PY_ASYNCIO).
include("$(MPY_DIR)/extmod/asyncio")
