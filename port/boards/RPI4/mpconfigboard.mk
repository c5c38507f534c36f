# Raspberry Pi 4 Model B; QEMU raspi4b models it.
# The Pi's boot firmware (and QEMU raspi4b) loads kernel8.img here and enters it at EL2.
LOAD_ADDR = 0x80000
BUILD_KERNEL_IMG = 1

# CPUs the firmware brings up and keeps state for.
MAX_CPUS = 4

# How QEMU runs this board: the Makefile and host_tools/boards.py read these.
QEMU_MACHINE = raspi4b
QEMU_ARGS = -M raspi4b
QEMU_SMP = 4
QEMU_SMP_FIXED = 1
FIRMWARE_IMAGE = kernel8.img
