/* Where the GICv2 is (gic.h). */
#include "testguest.h"
#include "gic.h"

#define GICD_FALLBACK_BASE      0x08000000ul    /* QEMU virt's */
#define GICC_FALLBACK_BASE      0x08010000ul

void gicv2_bases(uint64_t *gicd, uint64_t *gicc)
{
    uint64_t size;
    int node = fdt_find_compatible(-1, "arm,cortex-a15-gic");
    if (node < 0 || !fdt_reg(node, 0, gicd, &size) || !fdt_reg(node, 1, gicc, &size)) {
        *gicd = GICD_FALLBACK_BASE;
        *gicc = GICC_FALLBACK_BASE;
    }
}
