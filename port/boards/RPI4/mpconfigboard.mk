# The Pi's boot firmware (and QEMU raspi4b) loads kernel8.img here and enters it at EL2.
LOAD_ADDR = 0x80000
QEMU_MACHINE = raspi4b
BUILD_KERNEL_IMG = 1
