// QEMU `virt` (-M virt,virtualization=on,gic-version=2 -cpu cortex-a72).
// Every address and interrupt number of this board is defined here and only here;
// how QEMU runs it and its CPU count are in mpconfigboard.mk.
#ifndef MICROPY_INCLUDED_MPCONFIGBOARD_H
#define MICROPY_INCLUDED_MPCONFIGBOARD_H

#define BOARD_NAME              "QEMU_VIRT"
#define BOARD_MACHINE           "QEMU virt"

// RAM is what QEMU's device tree says (-m); QEMU leaves that tree at the
// start of RAM for a bare-metal ELF, with x0 = 0. Without a tree: QEMU's
// default 128 MiB.
#define BOARD_RAM_BASE          0x40000000UL
#define BOARD_RAM_SIZE          0x08000000UL
#define BOARD_DTB_FALLBACK_ADDR 0x40000000UL
#define BOARD_DEVICE_BASE       0x00000000UL    // everything below RAM is MMIO
#define BOARD_DEVICE_SIZE       0x40000000UL
// The boot map, one entry per GiB of the first 4 GiB, until the RAM the
// device tree names is mapped (core/mmu.c).
#define BOARD_MMU_GIB_MAP       { MMU_DEVICE, MMU_NORMAL, MMU_NORMAL, MMU_NORMAL }

#define BOARD_UART_BASE         0x09000000UL    // PL011 UART0
#define BOARD_UART_CLOCK_HZ     24000000U
#define BOARD_UART_INTID        33              // SPI 1
#define BOARD_UART_ROUTE_GPIO   0               // no pin muxing on virt

#define BOARD_GICD_BASE         0x08000000UL
#define BOARD_GICC_BASE         0x08010000UL
#define BOARD_GICH_BASE         0x08030000UL    // virtualization: hypervisor control
#define BOARD_GICV_BASE         0x08040000UL    // virtualization: the guest's CPU interface
// With gic-version=3 (same distributor address, no GICC/GICH/GICV): the
// redistributors, 128 KiB per CPU (RD_base, SGI_base).
#define BOARD_GICR_BASE         0x080a0000UL

// Guest RAM in 4 KiB stage-2 pages (core/vm.h says why: QEMU's TCG flushes
// its whole TLB on a guest TLBI inside a larger stage-2 block). The tables
// for that: one page per 2 MiB, for guests up to 1 GiB (QEMU runs with -m 1G).
#define BOARD_STAGE2_RAM_BLOCK  0x1000UL
#define BOARD_STAGE2_POOL_PAGES (512 + 16)

// The second CFI flash bank (QEMU: -drive if=pflash,unit=1,format=raw,file=F;
// F is exactly BOARD_FLASH_SIZE bytes): two x16 chips on a 32-bit bus
// (port/flash_cfi.c), littlefs at /flash (firmware/_flash.py). The first bank,
// at 0, is where QEMU would look for boot firmware: the firmware is an ELF
// QEMU loads into RAM (-kernel), and a file in unit 0 would be run instead.
#define BOARD_FLASH_BASE        0x04000000UL
#define BOARD_FLASH_SIZE        0x04000000UL    // 64 MiB
#define BOARD_FLASH_CHIPS       2

// virtio-mmio transports (QEMU's virt.c: 32 of them, 0x200 apart, SPI 16
// onwards): the firmware drives a virtio console on one (core/virtio_console.c),
// the uploads' second channel; `-device virtio-serial-device` fills the last one.
#define BOARD_VIRTIO_MMIO_BASE  0x0a000000UL
#define BOARD_VIRTIO_MMIO_STRIDE 0x200UL
#define BOARD_VIRTIO_MMIO_COUNT 32
#define BOARD_VIRTIO_MMIO_INTID 48              // the first transport's; +1 each

#define BOARD_SMP_PSCI          1               // secondaries start with PSCI CPU_ON over SMC
#define BOARD_RESET_PSCI        1               // reset: PSCI SYSTEM_RESET

#endif
