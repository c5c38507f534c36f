// Stage-2 translation tables (see stage2.h). The tables are walked by the
// hardware with write-back cacheable, inner-shareable accesses (VTCR_EL2), so
// a dsb after writing them is all they need.
#include "cpu.h"
#include "stage2.h"

#define DESC_VALID      0x1ul
#define DESC_TABLE      0x3ul           // at levels 0-2
#define DESC_BLOCK      0x1ul           // at levels 1-2
#define DESC_PAGE       0x3ul           // at level 3
#define S2_MEMATTR_NORMAL_WB    (0xful << 2)    // outer and inner write-back
#define S2_MEMATTR_DEVICE_nGnRE (0x1ul << 2)
#define S2_AP_RW        (3ul << 6)
#define S2_SH_INNER     (3ul << 8)
#define S2_AF           (1ul << 10)
#define S2_XN           (1ul << 54)     // device memory is never executed
#define ADDR_MASK       0x0000fffffffff000ul

static const uint8_t parange_bits[] = { 32, 36, 40, 42, 44, 48, 52 };

unsigned int stage2_pa_bits(void) {
    unsigned int parange = FIELD_GET(ID_AA64MMFR0_EL1_PARANGE, SYSREG_READ(id_aa64mmfr0_el1));
    return parange < sizeof(parange_bits) ? parange_bits[parange] : 48;
}

unsigned int stage2_levels(void) {
    return stage2_pa_bits() >= 44 ? 4 : 3;
}

void stage2_init(stage2_t *s2, uint64_t (*pool)[512]) {
    s2->pool = pool;
    s2->used = 1;
    for (int i = 0; i < 512; ++i) {
        pool[0][i] = 0;
    }
    unsigned int pa_bits = stage2_pa_bits();
    if (pa_bits > 48) {
        pa_bits = 48;                   // 52-bit output needs 64 KiB pages or FEAT_LPA2
    }
    unsigned int ps = 0;
    while (parange_bits[ps] < pa_bits) {
        ++ps;
    }
    // Three levels from level 1 cover 39 bits with one root table; four levels
    // from level 0 cover up to 48. The IPA space is as large as the PA space
    // the walk can cover.
    if (stage2_levels() == 4) {
        s2->start_level = 0;
        s2->ipa_bits = pa_bits;
    } else {
        s2->start_level = 1;
        s2->ipa_bits = pa_bits < 39 ? pa_bits : 39;
    }
    s2->vtcr = (1ul << 31) | FIELD_PREP(VTCR_EL2_PS, ps) | FIELD_PREP(VTCR_EL2_SH0, 3)
        | FIELD_PREP(VTCR_EL2_ORGN0, 1) | FIELD_PREP(VTCR_EL2_IRGN0, 1)
        | FIELD_PREP(VTCR_EL2_SL0, s2->start_level == 0 ? 2 : 1)
        | FIELD_PREP(VTCR_EL2_T0SZ, 64 - s2->ipa_bits);
}

static unsigned int level_shift(unsigned int level) {
    return 39 - 9 * level;              // 39, 30, 21, 12
}

// The table the entry at `level` for `ipa` points to, made if `make`.
static uint64_t *next_table(stage2_t *s2, uint64_t *table, unsigned int level, uint64_t ipa, bool make) {
    uint64_t *desc = &table[(ipa >> level_shift(level)) & 511];
    if ((*desc & 3) == DESC_TABLE) {
        return (uint64_t *)(*desc & ADDR_MASK);
    }
    if (!make || *desc != 0 || s2->used == STAGE2_POOL_PAGES) {
        return NULL;                    // absent, or already a block
    }
    uint64_t *t = s2->pool[s2->used++];
    for (int i = 0; i < 512; ++i) {
        t[i] = 0;
    }
    __asm__ volatile ("dsb ishst" ::: "memory");
    *desc = (uintptr_t)t | DESC_TABLE;
    return t;
}

bool stage2_map(stage2_t *s2, uint64_t ipa, uint64_t pa, uint64_t size, int type, uint64_t max_block) {
    if (((ipa | pa | size) & 0xfff) || ipa + size < ipa || ipa + size > (1ul << s2->ipa_bits)) {
        return false;
    }
    uint64_t attrs = S2_AP_RW | S2_AF | (type == STAGE2_DEVICE
        ? S2_MEMATTR_DEVICE_nGnRE | S2_XN : S2_MEMATTR_NORMAL_WB | S2_SH_INNER);
    while (size) {
        // The largest block that this position's alignment and the size allow
        // (no blocks at level 0; 1 GiB blocks only with a level-1 table).
        unsigned int level = 3;
        for (unsigned int l = 1; l < 3; ++l) {
            uint64_t block = 1ul << level_shift(l);
            if (block <= max_block && ((ipa | pa) & (block - 1)) == 0 && size >= block) {
                level = l;
                break;
            }
        }
        uint64_t *table = s2->pool[0];
        for (unsigned int l = s2->start_level; l < level; ++l) {
            table = next_table(s2, table, l, ipa, true);
            if (table == NULL) {
                return false;
            }
        }
        table[(ipa >> level_shift(level)) & 511] = pa | attrs | (level == 3 ? DESC_PAGE : DESC_BLOCK);
        uint64_t step = 1ul << level_shift(level);
        ipa += step;
        pa += step;
        size -= step;
    }
    __asm__ volatile ("dsb ish" ::: "memory");
    return true;
}

uint64_t stage2_translate(const stage2_t *s2, uint64_t ipa) {
    if (ipa >= (1ul << s2->ipa_bits)) {
        return UINT64_MAX;
    }
    const uint64_t *table = s2->pool[0];
    for (unsigned int level = s2->start_level; level <= 3; ++level) {
        uint64_t desc = table[(ipa >> level_shift(level)) & 511];
        if (!(desc & DESC_VALID)) {
            return UINT64_MAX;
        }
        if (level == 3 || (desc & 3) == DESC_BLOCK) {
            uint64_t mask = (1ul << level_shift(level)) - 1;
            return (desc & ADDR_MASK & ~mask) | (ipa & mask);
        }
        table = (const uint64_t *)(desc & ADDR_MASK);
    }
    return UINT64_MAX;
}
