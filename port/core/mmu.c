// The EL2 identity maps.
//
// The boot map: one level-1 table of 1 GiB blocks from the board's memory
// map (BOARD_MMU_GIB_MAP), built by the compiler as initialised data, so every
// CPU can turn its MMU on in boot/start.S before running any C. It covers
// wherever the boot loader may have put the device tree.
//
// The final map (mmu_map_ram): RAM as the device tree says, in 2 MiB blocks,
// and the board's devices; nothing else, so machine.mem* faults on memory
// that is not there instead of reaching whatever answers (or hanging a real
// bus). Every CPU switches to it before it runs anything else.
#include <stdint.h>
#include "mpconfigboard.h"
#include "el2_defs.h"
#include "cpu.h"
#include "mmu.h"

#define BLOCK_1G        0x1ul
#define BLOCK_2M        0x1ul
#define TABLE           0x3ul
#define AF              (1ul << 10)
#define SH_INNER        (3ul << 8)
#define ATTR(idx)       ((uint64_t)(idx) << 2)
#define XN              (1ul << 54)

// The boot map's 1 GiB blocks.
#define NORMAL_BLOCK(gib)  (((uint64_t)(gib) << 30) | BLOCK_1G | AF | SH_INNER | ATTR(MAIR_IDX_NORMAL))
#define DEVICE_BLOCK(gib)  (((uint64_t)(gib) << 30) | BLOCK_1G | AF | ATTR(MAIR_IDX_DEVICE) | XN)
#define MMU_BLOCK(gib, kind) ((kind) == MMU_NORMAL ? NORMAL_BLOCK(gib) : (kind) == MMU_DEVICE ? DEVICE_BLOCK(gib) : 0)

#define ATTRS_NORMAL    (AF | SH_INNER | ATTR(MAIR_IDX_NORMAL))
#define ATTRS_DEVICE    (AF | ATTR(MAIR_IDX_DEVICE) | XN)

#define SZ_2M           (1ul << 21)
#define SZ_1G           (1ul << 30)
#define VA_GIB          512             // TCR_EL2_BOOT's 39-bit addresses
#define L2_TABLES       8               // GiBs mapped in part (RAM ends, devices inside a GiB)

static const uint8_t board_map[] = BOARD_MMU_GIB_MAP;

uint64_t mmu_l1_table[512] __attribute__((aligned(4096))) = {
    MMU_BLOCK(0, board_map[0]),
    MMU_BLOCK(1, board_map[1]),
    MMU_BLOCK(2, board_map[2]),
    MMU_BLOCK(3, board_map[3]),
};

static uint64_t final_l1[512] __attribute__((aligned(4096)));
static uint64_t final_l2[L2_TABLES][512] __attribute__((aligned(4096)));
static mem_range_t ram[MMU_MAX_RAM_RANGES];
static unsigned int num_ram;
static volatile bool final_ready;

extern char __image_start[];

static uint64_t align_down(uint64_t v, uint64_t a) {
    return v & ~(a - 1);
}

static uint64_t align_up(uint64_t v, uint64_t a) {
    return (v + a - 1) & ~(a - 1);
}

// Add [base, base + size) to the RAM list, in whole 2 MiB blocks, merging
// with a range it touches.
static void ram_add(uint64_t base, uint64_t size) {
    uint64_t start = align_up(base, SZ_2M), end = align_down(base + size, SZ_2M);
    if (end <= start || start >= (uint64_t)VA_GIB * SZ_1G) {
        return;
    }
    end = end > (uint64_t)VA_GIB * SZ_1G ? (uint64_t)VA_GIB * SZ_1G : end;
    for (unsigned int i = 0; i < num_ram; ++i) {
        uint64_t s = ram[i].base, e = s + ram[i].size;
        if (start <= e && end >= s) {
            s = start < s ? start : s;
            e = end > e ? end : e;
            ram[i].base = s;
            ram[i].size = e - s;
            return;
        }
    }
    if (num_ram < MMU_MAX_RAM_RANGES) {
        ram[num_ram].base = start;
        ram[num_ram].size = end - start;
        num_ram++;
    }
}

static bool in_device(uint64_t a) {
    return a >= BOARD_DEVICE_BASE && a - BOARD_DEVICE_BASE < BOARD_DEVICE_SIZE;
}

static bool in_ram(uint64_t a) {
    for (unsigned int i = 0; i < num_ram; ++i) {
        if (a >= ram[i].base && a - ram[i].base < ram[i].size) {
            return true;
        }
    }
    return false;
}

// Does [base, base + 1 GiB) meet any RAM range or the devices? Most of the
// 512 GiB do not: those need no look at their 512 blocks.
static bool gib_touched(uint64_t base) {
    uint64_t end = base + SZ_1G;
    if (BOARD_DEVICE_BASE < end && BOARD_DEVICE_BASE + BOARD_DEVICE_SIZE > base) {
        return true;
    }
    for (unsigned int i = 0; i < num_ram; ++i) {
        if (ram[i].base < end && ram[i].base + ram[i].size > base) {
            return true;
        }
    }
    return false;
}

// What the 2 MiB block at `a` holds: devices first (a RAM range that
// claims them is wrong), then RAM, else nothing.
static int block_kind(uint64_t a) {
    return in_device(a) ? MMU_DEVICE : in_ram(a) ? MMU_NORMAL : MMU_UNMAPPED;
}

// A block entry of `kind` at `a`: the same format for a 2 MiB block in a
// level-2 table and a 1 GiB block in the level-1 table.
static uint64_t block_entry(uint64_t a, int kind) {
    return kind == MMU_DEVICE ? a | BLOCK_2M | ATTRS_DEVICE : kind == MMU_NORMAL ? a | BLOCK_2M | ATTRS_NORMAL : 0;
}

bool mmu_map_ram(const mem_range_t *ranges, unsigned int n) {
    num_ram = 0;
    for (unsigned int i = 0; i < n; ++i) {
        ram_add(ranges[i].base, ranges[i].size);
    }
    // The firmware's own image is RAM whatever the tree says.
    ram_add(align_down((uintptr_t)__image_start, SZ_2M),
        align_up((uintptr_t)__heap_end, SZ_2M) - align_down((uintptr_t)__image_start, SZ_2M));
    bool complete = true;
    unsigned int l2_used = 0;
    for (uint64_t gib = 0; gib < VA_GIB; ++gib) {
        uint64_t base = gib * SZ_1G;
        if (!gib_touched(base)) {
            final_l1[gib] = 0;
            continue;
        }
        int kind = block_kind(base);
        bool uniform = true;
        for (uint64_t a = base + SZ_2M; a < base + SZ_1G && uniform; a += SZ_2M) {
            uniform = block_kind(a) == kind;
        }
        if (uniform) {
            final_l1[gib] = block_entry(base, kind);
        } else if (l2_used < L2_TABLES) {
            uint64_t *l2 = final_l2[l2_used++];
            for (int i = 0; i < 512; ++i) {
                uint64_t a = base + (uint64_t)i * SZ_2M;
                l2[i] = block_entry(a, block_kind(a));
            }
            final_l1[gib] = (uintptr_t)l2 | TABLE;
        } else {
            final_l1[gib] = 0;          // out of tables: leave this GiB unmapped
            complete = false;
        }
    }
    __asm__ volatile ("dsb ish" ::: "memory");
    final_ready = true;
    mmu_switch_to_final();
    return complete;
}

// Both maps give the code that runs here the same identity mapping and
// attributes, so TTBR0_EL2 can change under it.
void mmu_switch_to_final(void) {
    if (!final_ready) {
        return;
    }
    __asm__ volatile (
        "msr ttbr0_el2, %0\n"
        "isb\n"
        "tlbi alle2\n"
        "dsb nsh\n"
        "isb\n"
        :: "r" ((uintptr_t)final_l1) : "memory");
}

unsigned int mmu_ram_ranges(const mem_range_t **out) {
    *out = ram;
    return num_ram;
}
