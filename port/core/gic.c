// GICv2 driver: one distributor, a banked CPU interface per CPU, and the
// firmware's host IRQ handler (acknowledge, dispatch by INTID, end of interrupt).
#include <stdio.h>

#include "py/mphal.h"
#include "mpconfigboard.h"
#include "cpu.h"
#include "gic.h"

#define GICD(off)   (*(volatile uint32_t *)(BOARD_GICD_BASE + (off)))
#define GICD8(off)  (*(volatile uint8_t *)(BOARD_GICD_BASE + (off)))
#define GICC(off)   (*(volatile uint32_t *)(BOARD_GICC_BASE + (off)))

#define GICD_CTLR           0x000
#define GICD_TYPER          0x004
#define GICD_ISENABLER(n)   (0x100 + 4 * (n))
#define GICD_ICENABLER(n)   (0x180 + 4 * (n))
#define GICD_ICPENDR(n)     (0x280 + 4 * (n))
#define GICD_IPRIORITYR(i)  (0x400 + (i))
#define GICD_ITARGETSR(i)   (0x800 + (i))
#define GICD_SGIR           0xf00

#define GICC_CTLR           0x00
#define GICC_PMR            0x04
#define GICC_BPR            0x08
#define GICC_IAR            0x0c
#define GICC_EOIR           0x10

#define GIC_PRIORITY        0xa0

static gic_handler_t gic_handlers[GIC_NUM_INTIDS];
static uint8_t gic_reported[GIC_NUM_INTIDS / 8 + 1];

uint32_t gic_typer(void) {
    return GICD(GICD_TYPER);
}

static unsigned int gic_num_lines(void) {
    unsigned int n = 32 * ((GICD(GICD_TYPER) & 0x1f) + 1);
    return n > GIC_NUM_INTIDS ? GIC_NUM_INTIDS : n;
}

void gic_dist_init(void) {
    GICD(GICD_CTLR) = 0;
    unsigned int lines = gic_num_lines();
    for (unsigned int i = 32; i < lines; i += 32) {
        GICD(GICD_ICENABLER(i / 32)) = 0xffffffff;
        GICD(GICD_ICPENDR(i / 32)) = 0xffffffff;
    }
    for (unsigned int i = 32; i < lines; ++i) {
        GICD8(GICD_IPRIORITYR(i)) = GIC_PRIORITY;
        GICD8(GICD_ITARGETSR(i)) = 1;       // CPU 0 until someone asks otherwise
    }
    GICD(GICD_CTLR) = 1;
}

void gic_cpu_init(void) {
    GICD(GICD_ICENABLER(0)) = 0xffff0000;   // PPIs off until a driver enables one
    GICD(GICD_ISENABLER(0)) = 0x0000ffff;   // SGIs on
    for (unsigned int i = 0; i < 32; ++i) {
        GICD8(GICD_IPRIORITYR(i)) = GIC_PRIORITY;
    }
    GICC(GICC_PMR) = 0xf0;
    GICC(GICC_BPR) = 0;
    GICC(GICC_CTLR) = 1;
}

void gic_set_handler(unsigned int intid, gic_handler_t handler) {
    gic_handlers[intid] = handler;
}

void gic_enable_irq(unsigned int intid) {
    GICD(GICD_ISENABLER(intid / 32)) = 1u << (intid % 32);
}

void gic_disable_irq(unsigned int intid) {
    GICD(GICD_ICENABLER(intid / 32)) = 1u << (intid % 32);
}

void gic_send_sgi(unsigned int intid, unsigned int cpu) {
    GICD(GICD_SGIR) = (1u << (16 + cpu)) | (intid & 0xf);
}

// An interrupt nobody registered: report it once, then disable it so a
// level-triggered source cannot storm.
static void gic_unexpected_irq(unsigned int intid) {
    if (!(gic_reported[intid / 8] & (1 << (intid % 8)))) {
        gic_reported[intid / 8] |= 1 << (intid % 8);
        mp_printf(&mp_plat_print, "\n[IRQ %u on CPU %u has no driver: disabled]\n", intid, cpu_index());
    }
    gic_disable_irq(intid);
}

void host_irq_handler(void) {
    cpu_local_t *cpu = this_cpu();
    for (;;) {
        uint32_t iar = GICC(GICC_IAR);
        unsigned int intid = iar & 0x3ff;
        if (intid >= GIC_NUM_INTIDS) {
            break;
        }
        cpu->irq_total++;
        gic_handler_t handler = gic_handlers[intid];
        if (intid < 16) {
            // SGIs end first: a cross-call may run a guest for a long time, and
            // the GIC signals nothing of equal priority while one is active.
            GICC(GICC_EOIR) = iar;
        }
        if (handler) {
            handler(intid);
        } else {
            gic_unexpected_irq(intid);
        }
        if (intid >= 16) {
            GICC(GICC_EOIR) = iar;
        }
    }
}
