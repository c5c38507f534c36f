# QEMU virt with virtualization (EL2) and a GICv2.
# Link address inside RAM: QEMU puts its device tree (up to 1 MiB) at the start
# of RAM only if it fits below the image, so the image starts 2 MiB in.
LOAD_ADDR = 0x40200000

# CPUs the firmware brings up and keeps state for.
MAX_CPUS = 4

# How QEMU runs this board: the Makefile and host_tools/boards.py read these.
# QEMU_SMP is the default CPU count; QEMU_SMP_FIXED = 1 means -smp cannot change it.
QEMU_MACHINE = virt
QEMU_ARGS = -M virt,virtualization=on,gic-version=2 -cpu cortex-a72 -m 1G -nic none
QEMU_SMP = 4
QEMU_SMP_FIXED = 0
# GIC versions the machine can be given (the first is QEMU_ARGS's): the same
# firmware drives either (host_tools/boards.py: gic=3, ?gic=3, EL2_QEMU_GIC=3).
QEMU_GIC_VERSIONS = 2 3
FIRMWARE_IMAGE = firmware.elf
# The flash bank /flash lives on (BOARD_FLASH_* in mpconfigboard.h): how QEMU
# is given its backing file, and the file's size, which QEMU wants exact.
QEMU_FLASH = if=pflash,unit=1,format=raw
QEMU_FLASH_SIZE = 0x4000000
# A virtio console beside the UART for uploads (core/virtio_console.c; the
# host adds it: host_tools/boards.py upload_channel_args).
QEMU_UPLOAD_CHANNEL = virtio
