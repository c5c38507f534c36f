# Link address inside RAM: QEMU places the device tree at the start of RAM.
LOAD_ADDR = 0x40080000
QEMU_MACHINE = virt
