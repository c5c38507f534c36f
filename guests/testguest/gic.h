/* The GICv2 the guest's timing and RTC modes program: the registers they
   touch, and where the distributor and CPU interface are (gic.c). */
#ifndef TESTGUEST_GIC_H
#define TESTGUEST_GIC_H

#include <stdint.h>

#define GICD_CTLR               0x000
#define GICD_ISENABLER(n)       (0x100 + 4 * (n))
#define GICD_ICENABLER(n)       (0x180 + 4 * (n))
#define GICD_IPRIORITYR(n)      (0x400 + (n))
#define GICD_ITARGETSR(n)       (0x800 + (n))
#define GICC_CTLR               0x000
#define GICC_PMR                0x004
#define GICC_IAR                0x00c
#define GICC_EOIR               0x010
#define INTID_MASK              0x3ff
#define INTID_SPURIOUS          1023

/* The GICv2's distributor and CPU interface from the device tree's
   "arm,cortex-a15-gic" node, else QEMU virt's addresses. */
void gicv2_bases(uint64_t *gicd, uint64_t *gicc);

#endif
