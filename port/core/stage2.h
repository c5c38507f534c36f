// Stage-2 translation tables: a guest's IPA space mapped onto physical memory
// with the largest blocks that fit (1 GiB, 2 MiB, 4 KiB) up to a limit the
// caller gives, 4 KiB granule.
#ifndef CORE_STAGE2_H
#define CORE_STAGE2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpconfigboard.h"

// Table pages per address space: a board that maps guest RAM in 4 KiB pages
// needs one page per 2 MiB of it (BOARD_STAGE2_POOL_PAGES).
#ifdef BOARD_STAGE2_POOL_PAGES
#define STAGE2_POOL_PAGES   BOARD_STAGE2_POOL_PAGES
#else
#define STAGE2_POOL_PAGES   64
#endif

// Block sizes (4 KiB granule).
#define STAGE2_4K           0x1000ul
#define STAGE2_2M           0x200000ul
#define STAGE2_1G           0x40000000ul

// Memory types of a mapping.
#define STAGE2_NORMAL       0           // RAM: write-back cacheable
#define STAGE2_DEVICE       1           // MMIO passed through: Device-nGnRE

typedef struct _stage2_t {
    uint64_t (*pool)[512];              // STAGE2_POOL_PAGES page-aligned tables; pool[0] is the root
    unsigned int used;                  // pages taken from the pool
    unsigned int start_level;           // 0 (four levels) or 1 (three)
    unsigned int ipa_bits;
    uint64_t vtcr;                      // VTCR_EL2 for this space
} stage2_t;

// The physical address size ID_AA64MMFR0_EL1.PARange gives, in bits (32..52).
unsigned int stage2_pa_bits(void);
// Levels of a stage-2 walk that covers the whole PA range: 4 from 44 bits up
// (as arm_vcpu's max_guest_page_table_levels()), else 3.
unsigned int stage2_levels(void);

// An empty space using `pool` (STAGE2_POOL_PAGES pages, 4 KiB aligned).
void stage2_init(stage2_t *s2, uint64_t (*pool)[512]);
// Map [ipa, ipa + size) to [pa, pa + size); all 4 KiB aligned, with blocks
// of at most `max_block` bytes (4 KiB, 2 MiB or 1 GiB). False if the pool
// ran out or the range is outside the IPA space (nothing is undone).
bool stage2_map(stage2_t *s2, uint64_t ipa, uint64_t pa, uint64_t size, int type, uint64_t max_block);
// The physical address `ipa` maps to, or UINT64_MAX.
uint64_t stage2_translate(const stage2_t *s2, uint64_t ipa);

#endif
