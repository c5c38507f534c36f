// What the boot loader tells the firmware, read once on the boot CPU before
// anything else needs it: the device tree (from x0, or where the board says
// its loader leaves one), hence the RAM the EL2 map covers and the number of
// CPUs the machine has.
#ifndef CORE_BOOT_INFO_H
#define CORE_BOOT_INFO_H

#include <stdint.h>

// Boot CPU, first thing: find and read the device tree, map the RAM it
// names (the board's BOARD_RAM_* without one) and switch to that map.
void boot_info_init(uint64_t dtb);

uint64_t boot_info_dtb(void);               // the device tree read, or 0
uint64_t boot_info_loader_dtb(void);        // x0 as the boot loader gave it (a chainload passes it on)
unsigned int boot_info_cpus(void);          // CPUs the tree lists (0: no tree said)

#endif
