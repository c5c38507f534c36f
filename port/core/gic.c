// GICv2 driver: one distributor, a banked CPU interface per CPU, and the
// firmware's host IRQ handler (acknowledge, dispatch by INTID, end of interrupt).
// At boot the controller is identified from its distributor's ID registers;
// a GICv3 (with redistributors where the board says) is driven by gic3.c,
// each call below handing over to it. Where the controller cannot be driven
// (a GICv3 the board has no redistributors for, or a GIC-400 whose
// interrupts the Non-secure side cannot enable), nothing touches it and
// the interrupt sources are polled instead (gic_poll()).
#include <stdio.h>

#include "py/mphal.h"
#include "mpconfigboard.h"
#include "cpu.h"
#include "exception.h"
#include "gic.h"
#include "gic3.h"

#define GICD(off)   (*(volatile uint32_t *)(BOARD_GICD_BASE + (off)))
#define GICD8(off)  (*(volatile uint8_t *)(BOARD_GICD_BASE + (off)))
#define GICC(off)   (*(volatile uint32_t *)(BOARD_GICC_BASE + (off)))

#define GICD_CTLR           0x000
#define GICD_TYPER          0x004
#define GICD_ISENABLER(n)   (0x100 + 4 * (n))
#define GICD_ICENABLER(n)   (0x180 + 4 * (n))
#define GICD_ICPENDR(n)     (0x280 + 4 * (n))
#define GICD_ICACTIVER(n)   (0x380 + 4 * (n))
#define GICD_IPRIORITYR(i)  (0x400 + (i))
#define GICD_ITARGETSR(i)   (0x800 + (i))
#define GICD_SGIR           0xf00
#define GICD_PIDR2_V2       0xfe8       // ArchRev in bits [7:4]: 1 or 2
#define GICD_PIDR2_V3       0xffe8      // the GICv3/v4 distributor's (64 KiB frame)
#define PIDR2_ARCHREV(v)    (((v) >> 4) & 0xf)

#define GICC_CTLR           0x00
#define GICC_PMR            0x04
#define GICC_BPR            0x08
#define GICC_IAR            0x0c
#define GICC_EOIR           0x10
#define GICC_DIR            0x1000
// EOImode (bit 9; EOImodeNS in the Non-secure view): GICC_EOIR drops the
// priority, GICC_DIR deactivates. Split so that a forwarded interrupt can
// stay active for its guest, whose EOI deactivates it (vgic.c, HW bit).
#define GICC_CTLR_EOIMODE   (1u << 9)

#define GIC_PRIORITY        0xa0

static gic_handler_t gic_handlers[GIC_NUM_INTIDS];
static uint8_t gic_reported[GIC_NUM_INTIDS / 8 + 1];
static gic_kind_t kind = GIC_UNKNOWN;
// Interrupts forwarded to a guest (gic_forward): a bit per INTID. Their end
// here is a priority drop alone; the guest deactivates them.
static uint32_t gic_forwarded[GIC_NUM_INTIDS / 32 + 1];
bool gic_is_driven;                 // interrupts work: every gic_* call below acts
static bool gic_v3;                 // ... through gic3.c

// Sources polled when the controller is not driven: INTID and its device's "pending?".
#define GIC_MAX_POLLED 8
static struct { unsigned int intid; gic_pending_fn_t pending; } polled[GIC_MAX_POLLED];
static unsigned int num_polled;

// A distributor register read that may fault (no device there) as 0.
static uint32_t gicd_probe_read(uint32_t off) {
    cpu_local_t *cpu = this_cpu();
    guard_begin(cpu);
    uint32_t v = guarded_ld32(BOARD_GICD_BASE + off);
    return guard_end(cpu) ? 0 : v;
}

gic_kind_t gic_probe(void) {
    uint32_t rev = PIDR2_ARCHREV(gicd_probe_read(GICD_PIDR2_V2));
    if (rev == 1 || rev == 2) {
        kind = GIC_V2;
    } else {
        rev = PIDR2_ARCHREV(gicd_probe_read(GICD_PIDR2_V3));
        kind = rev == 3 ? GIC_V3 : rev == 4 ? GIC_V4 : GIC_UNKNOWN;
    }
    gic_v3 = kind == GIC_V3 && gic3_probe();
    gic_is_driven = kind == GIC_V2 || gic_v3;
    return kind;
}

gic_kind_t gic_kind(void) {
    return kind;
}

uint32_t gic_typer(void) {
    return GICD(GICD_TYPER);
}

uintptr_t gic_redistributor(unsigned int cpu) {
    return gic_v3 ? gic3_redistributor(cpu) : 0;
}

static unsigned int gic_num_lines(void) {
    unsigned int n = 32 * ((GICD(GICD_TYPER) & 0x1f) + 1);
    return n > GIC_NUM_INTIDS ? GIC_NUM_INTIDS : n;
}

void gic_dist_init(void) {
    if (!gic_is_driven) {
        return;
    }
    if (gic_v3) {
        gic3_dist_init();
        return;
    }
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
    if (!gic_is_driven) {
        return;
    }
    if (gic_v3) {
        gic3_cpu_init();
        return;
    }
    GICD(GICD_ICENABLER(0)) = 0xffff0000;   // PPIs off until a driver enables one
    GICD(GICD_ISENABLER(0)) = 0x0000ffff;   // SGIs on
    for (unsigned int i = 0; i < 32; ++i) {
        GICD8(GICD_IPRIORITYR(i)) = GIC_PRIORITY;
    }
    GICC(GICC_PMR) = 0xf0;
    GICC(GICC_BPR) = 0;
    GICC(GICC_CTLR) = 1 | GICC_CTLR_EOIMODE;
}

void gic_set_handler(unsigned int intid, gic_handler_t handler) {
    gic_handlers[intid] = handler;
}

void gic_enable_irq(unsigned int intid) {
    if (gic_v3) {
        gic3_set_enabled(intid, true);
    } else if (gic_is_driven) {
        GICD(GICD_ISENABLER(intid / 32)) = 1u << (intid % 32);
    }
}

void gic_disable_irq(unsigned int intid) {
    if (gic_v3) {
        gic3_set_enabled(intid, false);
    } else if (gic_is_driven) {
        GICD(GICD_ICENABLER(intid / 32)) = 1u << (intid % 32);
    }
}

// The Pi 4's boot stub puts every interrupt in Group 1, which the Non-secure
// side (us, at EL2) may configure, only with enable_gic=1; a Group 0
// interrupt's enable bit reads as zero from here. Checked on one interrupt:
// if it cannot be enabled, no interrupt will arrive, and the sources are
// polled instead.
bool gic_check_nonsecure(unsigned int intid) {
    if (!gic_is_driven) {
        return false;
    }
    if (gic_v3) {
        return true;        // every interrupt is Group 1 (gic3.c); QEMU's GICv3 has no Secure side
    }
    uint32_t bit = 1u << (intid % 32);
    GICD(GICD_ISENABLER(intid / 32)) = bit;
    bool enabled = GICD(GICD_ISENABLER(intid / 32)) & bit;
    GICD(GICD_ICENABLER(intid / 32)) = bit;
    if (!enabled) {
        gic_is_driven = false;
        kind = GIC_V2_SECURE_ONLY;
    }
    return enabled;
}

void gic_send_sgi(unsigned int intid, unsigned int cpu) {
    if (gic_v3) {
        gic3_send_sgi(intid, cpu);
    } else if (gic_is_driven) {
        GICD(GICD_SGIR) = (1u << (16 + cpu)) | (intid & 0xf);
    }
}

void gic_set_poll(unsigned int intid, gic_pending_fn_t pending) {
    if (num_polled < GIC_MAX_POLLED) {
        polled[num_polled].intid = intid;
        polled[num_polled].pending = pending;
        num_polled++;
    }
}

// Without a driven controller: each source whose device says it is pending
// is handled as its interrupt would have been (SPIs, which target CPU 0,
// only on CPU 0), with IRQs masked.
void gic_poll(void) {
    if (gic_is_driven) {
        return;
    }
    uint64_t daif = irq_save();
    cpu_local_t *cpu = this_cpu();
    cpu->irq_depth++;
    for (unsigned int i = 0; i < num_polled; ++i) {
        unsigned int intid = polled[i].intid;
        if ((intid < 32 || cpu_index() == 0) && gic_handlers[intid] && polled[i].pending()) {
            cpu->irq_total++;
            gic_handlers[intid](intid);
        }
    }
    cpu->irq_depth--;
    irq_restore(daif);
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

// Acknowledge and end: the GICv2 CPU interface's registers, or GICv3's
// system registers (whose INTID has no source CPU field).
static inline uint32_t gic_ack(void) {
    return gic_v3 ? gic3_ack() : GICC(GICC_IAR);
}

bool gic_is_forwarded(unsigned int intid) {
    return intid < GIC_NUM_INTIDS && ((gic_forwarded[intid / 32] >> (intid % 32)) & 1);
}

bool gic_has_handler(unsigned int intid) {
    return intid < GIC_NUM_INTIDS && gic_handlers[intid] != NULL;
}

static inline void gic_eoi(uint32_t iar, unsigned int intid) {
    bool forwarded = (gic_forwarded[intid / 32] >> (intid % 32)) & 1;
    if (gic_v3) {
        gic3_eoi(iar);
        if (!forwarded) {
            gic3_deactivate(iar);
        }
    } else {
        GICC(GICC_EOIR) = iar;
        if (!forwarded) {
            GICC(GICC_DIR) = iar;
        }
    }
}

bool gic_forward(unsigned int intid, unsigned int cpu, gic_handler_t handler) {
    if (!gic_is_driven || intid < 32 || intid >= gic_num_lines() || cpu >= MAX_CPUS || (!gic_v3 && cpu >= 8)) {
        return false;
    }
    if (gic_handlers[intid] != NULL && !gic_is_forwarded(intid)) {
        return false;       // the firmware's own (its UART's, say): never a guest's
    }
    uint32_t bit = 1u << (intid % 32);
    // A fresh start: off, neither pending nor active (a guest that rebooted
    // may have left it active), then to its CPU and on. (The distributor's
    // SPI registers are at the same offsets on a GICv3.)
    gic_disable_irq(intid);
    GICD(GICD_ICPENDR(intid / 32)) = bit;
    GICD(GICD_ICACTIVER(intid / 32)) = bit;
    gic_handlers[intid] = handler;
    __atomic_or_fetch(&gic_forwarded[intid / 32], bit, __ATOMIC_RELEASE);
    if (gic_v3) {
        gic3_route(intid, cpu);
    } else {
        GICD8(GICD_ITARGETSR(intid)) = 1u << cpu;
    }
    __asm__ volatile ("dsb ish" ::: "memory");
    gic_enable_irq(intid);
    return true;
}

void gic_unforward(unsigned int intid) {
    if (!gic_is_driven || intid < 32 || intid >= gic_num_lines()) {
        return;
    }
    uint32_t bit = 1u << (intid % 32);
    gic_disable_irq(intid);
    GICD(GICD_ICPENDR(intid / 32)) = bit;
    GICD(GICD_ICACTIVER(intid / 32)) = bit;      // one its guest never ended
    if (gic_v3) {
        gic3_route(intid, 0);
    } else {
        GICD8(GICD_ITARGETSR(intid)) = 1;
    }
    __atomic_and_fetch(&gic_forwarded[intid / 32], ~bit, __ATOMIC_RELEASE);
    gic_handlers[intid] = NULL;
}

void host_irq_handler(void) {
    cpu_local_t *cpu = this_cpu();
    for (;;) {
        uint32_t iar = gic_ack();
        unsigned int intid = iar & (gic_v3 ? 0xffffff : 0x3ff);
        if (intid >= GIC_NUM_INTIDS) {
            break;
        }
        cpu->irq_total++;
        gic_handler_t handler = gic_handlers[intid];
        if (intid < 16) {
            // SGIs end first: a cross-call may run a guest for a long time, and
            // the GIC signals nothing of equal priority while one is active.
            gic_eoi(iar, intid);
        }
        if (handler) {
            handler(intid);
        } else {
            gic_unexpected_irq(intid);
        }
        if (intid >= 16) {
            gic_eoi(iar, intid);
        }
    }
}
