# Python frozen into the firmware image.
freeze(".", ("_boot.py", "_sdcard.py", "_flash.py", "sysregs.py", "axerrno.py", "axvcpu.py", "percpu.py", "pcpu.py", "pcpu_status.py", "vcpu.py"))
freeze(".", ("fdt.py", "vm_layout.py", "vm_devicetree.py", "guest_image.py", "vm.py"))   # guests
# asyncio's Python part, from the MicroPython tree (its C part, _asyncio, is
# compiled in with MICROPY_PY_ASYNCIO).
include("$(MPY_DIR)/extmod/asyncio")
