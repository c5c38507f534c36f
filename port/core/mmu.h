// The EL2 identity maps: the boot map every CPU starts on (boot/start.S), and
// the final map of what exists, from the device tree (core/mmu.c).
#ifndef CORE_MMU_H
#define CORE_MMU_H

#include <stdbool.h>
#include "devicetree.h"

#define MMU_MAX_RAM_RANGES  (DT_MAX_RAM_RANGES + 1)     // the tree's, and the firmware's own image

// Boot CPU, once, before the secondaries start: build the final map (the
// RAM ranges, in whole 2 MiB blocks, always including the firmware's own
// image; the board's devices) and switch to it. False if it could not map
// every range (out of level-2 tables).
bool mmu_map_ram(const mem_range_t *ranges, unsigned int n);
// Every other CPU, first thing: switch to the final map.
void mmu_switch_to_final(void);
// The RAM the final map covers.
unsigned int mmu_ram_ranges(const mem_range_t **out);

#endif
