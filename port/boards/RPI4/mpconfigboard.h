// Raspberry Pi 4 Model B (BCM2711, 4 x Cortex-A72), also QEMU `raspi4b`.
// Every address and interrupt number of this board is defined here and only here;
// how QEMU runs it and its CPU count are in mpconfigboard.mk.
#ifndef MICROPY_INCLUDED_MPCONFIGBOARD_H
#define MICROPY_INCLUDED_MPCONFIGBOARD_H

#define BOARD_NAME              "RPI4"
#define BOARD_MACHINE           "Raspberry Pi 4 Model B"

// RAM is what the device tree in x0 says: the Pi's firmware fills it in for
// the board's 1, 2, 4 or 8 GiB and its gpu_mem. Without a tree (QEMU raspi4b
// without -dtb): the low RAM every Pi 4 has below the VideoCore's memory
// with the default gpu_mem of 76 MiB.
#define BOARD_RAM_BASE          0x00000000UL
#define BOARD_RAM_SIZE          0x3b400000UL
#define BOARD_DEVICE_BASE       0xfc000000UL    // "low peripheral" mode
#define BOARD_DEVICE_SIZE       0x04000000UL
// The boot map, one entry per GiB of the first 4 GiB, until the RAM the
// device tree names is mapped (core/mmu.c): wherever the Pi's firmware put
// the tree (below 3 GiB), and the peripherals (and GIC) in the last GiB.
#define BOARD_MMU_GIB_MAP       { MMU_NORMAL, MMU_NORMAL, MMU_NORMAL, MMU_DEVICE }

#define BOARD_UART_BASE         0xfe201000UL    // PL011 UART0
#define BOARD_UART_CLOCK_HZ     48000000U       // unless config.txt sets init_uart_clock
#define BOARD_UART_INTID        153             // SPI 121
// On a Pi 4 the boot firmware's enable_uart=1 puts the mini UART on GPIO 14/15
// (UART0 serves Bluetooth): the firmware routes the pins to UART0 itself.
#define BOARD_UART_ROUTE_GPIO   1
#define BOARD_UART_TX_PIN       14              // pin 8 of the header
#define BOARD_UART_RX_PIN       15              // pin 10; pulled up, so a floating line reads idle
#define BOARD_GPIO_BASE         0xfe200000UL

#define BOARD_GICD_BASE         0xff841000UL    // GIC-400
#define BOARD_GICC_BASE         0xff842000UL
#define BOARD_GICH_BASE         0xff844000UL    // virtualization: hypervisor control
#define BOARD_GICV_BASE         0xff846000UL    // virtualization: the guest's CPU interface

// SD card (core/sdhci.c, sdcard.c). The Pi 4's card slot is on EMMC2; the
// older EMMC (Arasan) serves the Wi-Fi chip on a Pi 4, but QEMU 10's raspi4b
// attaches `-drive if=sd` there, so it is tried second, only if its
// card-detect line says a card is present.
// Their input clocks come from the VideoCore firmware (mailbox, core/mbox_bcm2711.c).
#define BOARD_SDHCI_BASE        0xfe340000UL    // EMMC2
#define BOARD_SDHCI_NAME        "EMMC2"
#define BOARD_SDHCI_CLOCK_ID    MBOX_CLOCK_EMMC2
#define BOARD_SDHCI_ALT_BASE    0xfe300000UL    // EMMC
#define BOARD_SDHCI_ALT_NAME    "EMMC"
#define BOARD_SDHCI_ALT_CLOCK_ID MBOX_CLOCK_EMMC
#define BOARD_MBOX_BASE         0xfe00b880UL    // VideoCore mailboxes

#define BOARD_SMP_PSCI          0               // secondaries wait on the spin table
#define BOARD_SPIN_TABLE_BASE   0xd8UL          // entry address of CPU n at 0xd8 + 8 * n
#define BOARD_RESET_BCM2711_WATCHDOG 1          // reset: the power manager's watchdog

#endif
