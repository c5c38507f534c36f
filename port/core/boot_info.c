// The boot loader's device tree: the RAM it names becomes the EL2 map, and
// the CPUs it lists tell the banner when the machine has more than the
// firmware uses. Without a usable tree the board's own RAM facts are mapped.
#include "mpconfigboard.h"
#include "boot_info.h"
#include "devicetree.h"
#include "mmu.h"

static uint64_t dtb_used;
static uint64_t dtb_loader;
static unsigned int cpus_listed;

void boot_info_init(uint64_t dtb) {
    dtb_loader = dtb;
    #ifdef BOARD_DTB_FALLBACK_ADDR
    if (!dt_valid(dtb)) {
        dtb = BOARD_DTB_FALLBACK_ADDR;
    }
    #endif
    static dt_facts_t facts;
    if (dt_valid(dtb) && dt_read_facts(dtb, &facts) && facts.num_ram > 0) {
        dtb_used = dtb;
        cpus_listed = facts.num_cpus;
        mmu_map_ram(facts.ram, facts.num_ram);
    } else {
        mem_range_t board_ram = { BOARD_RAM_BASE, BOARD_RAM_SIZE };
        mmu_map_ram(&board_ram, 1);
    }
}

uint64_t boot_info_loader_dtb(void) {
    return dtb_loader;
}

uint64_t boot_info_dtb(void) {
    return dtb_used;
}

unsigned int boot_info_cpus(void) {
    return cpus_listed;
}
