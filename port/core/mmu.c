// The EL2 identity map: one level-1 table of 1 GiB blocks, from the board's
// memory map. Built by the compiler as initialised data, so every CPU can turn
// its MMU on in boot/start.S before running any C.
#include <stdint.h>
#include "mpconfigboard.h"
#include "el2_defs.h"

#define BLOCK_1G        0x1ul
#define AF              (1ul << 10)
#define SH_INNER        (3ul << 8)
#define ATTR(idx)       ((uint64_t)(idx) << 2)
#define XN              (1ul << 54)

#define NORMAL_BLOCK(gib)  (((uint64_t)(gib) << 30) | BLOCK_1G | AF | SH_INNER | ATTR(MAIR_IDX_NORMAL))
#define DEVICE_BLOCK(gib)  (((uint64_t)(gib) << 30) | BLOCK_1G | AF | ATTR(MAIR_IDX_DEVICE) | XN)
#define MMU_BLOCK(gib, kind) ((kind) == MMU_NORMAL ? NORMAL_BLOCK(gib) : (kind) == MMU_DEVICE ? DEVICE_BLOCK(gib) : 0)

static const uint8_t board_map[] = BOARD_MMU_GIB_MAP;

uint64_t mmu_l1_table[512] __attribute__((aligned(4096))) = {
    MMU_BLOCK(0, board_map[0]),
    MMU_BLOCK(1, board_map[1]),
    MMU_BLOCK(2, board_map[2]),
    MMU_BLOCK(3, board_map[3]),
};
