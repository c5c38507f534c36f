// GICv3 driver (see gic3.h): what gic.c calls when the distributor says
// GICv3. Every interrupt is Group 1 (a GIC without security, as QEMU virt's,
// signals Group 0 as FIQ), at one priority; SPIs are routed to the boot CPU
// by affinity (GICD_IROUTER), as the GICv2 path targets CPU 0; SGIs and PPIs
// are set up in each CPU's own redistributor (its SGI_base frame).
#include "mpconfigboard.h"
#include "cpu.h"
#include "exception.h"
#include "gic3.h"

#ifdef BOARD_GICR_BASE

#define GICD(off)           (*(volatile uint32_t *)(BOARD_GICD_BASE + (off)))
#define GICD8(off)          (*(volatile uint8_t *)(BOARD_GICD_BASE + (off)))
#define GICD64(off)         (*(volatile uint64_t *)(BOARD_GICD_BASE + (off)))

// Distributor (GICv3 architecture specification, 12.9)
#define GICD_CTLR           0x0000
#define GICD_TYPER          0x0004
#define GICD_IGROUPR(n)     (0x0080 + 4 * (n))
#define GICD_ISENABLER(n)   (0x0100 + 4 * (n))
#define GICD_ICENABLER(n)   (0x0180 + 4 * (n))
#define GICD_ICPENDR(n)     (0x0280 + 4 * (n))
#define GICD_ICACTIVER(n)   (0x0380 + 4 * (n))
#define GICD_IPRIORITYR(i)  (0x0400 + (i))
#define GICD_IROUTER(i)     (0x6000 + 8 * (i))
#define GICD_CTLR_ENABLE_G0 (1u << 0)   // (without security: Group 0)
#define GICD_CTLR_ENABLE_G1 (1u << 1)   // (without security: Group 1)
#define GICD_CTLR_ARE       (1u << 4)   // affinity routing
#define GICD_CTLR_RWP       (1u << 31)  // a write is still taking effect

// Redistributor: RD_base, then SGI_base 64 KiB above (12.10, 12.11)
#define GICR_CTLR           0x0000
#define GICR_TYPER          0x0008      // 64-bit: [63:32] affinity, [4] Last, [1] VLPIS
#define GICR_WAKER          0x0014
#define GICR_SGI_BASE       0x10000
#define GICR_IGROUPR0       (GICR_SGI_BASE + 0x0080)
#define GICR_ISENABLER0     (GICR_SGI_BASE + 0x0100)
#define GICR_ICENABLER0     (GICR_SGI_BASE + 0x0180)
#define GICR_ICPENDR0       (GICR_SGI_BASE + 0x0280)
#define GICR_ICACTIVER0     (GICR_SGI_BASE + 0x0380)
#define GICR_IPRIORITYR(i)  (GICR_SGI_BASE + 0x0400 + (i))
#define GICR_CTLR_RWP       (1u << 3)
#define GICR_TYPER_LAST     (1u << 4)
#define GICR_TYPER_VLPIS    (1u << 1)   // GICv4: two more 64 KiB frames
#define GICR_WAKER_PROCESSOR_SLEEP  (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP  (1u << 2)
#define GICR_MAX_FRAMES     64          // a walk that never finds Last stops here

#define GIC_PRIORITY        0xa0        // as the GICv2 path
#define GIC_PMR             0xf0

#define GICR(cpu, off)      (*(volatile uint32_t *)(gicr_base[cpu] + (off)))
#define GICR8(cpu, off)     (*(volatile uint8_t *)(gicr_base[cpu] + (off)))

static uintptr_t gicr_base[MAX_CPUS];  // each CPU's RD_base, found by its affinity

// MPIDR's affinity fields as GICD_IROUTER and GICR_TYPER lay them out:
// Aff3 at [39:32], Aff2..Aff0 at [23:0].
static uint64_t mpidr_affinity(uint64_t mpidr) {
    return mpidr & 0xff00fffffful;
}

// A bounded wait for a register write to take effect: a GIC that never
// finishes must not hang the boot (nothing would report it).
static void wait_clear(volatile uint32_t *reg, uint32_t bit) {
    for (unsigned int n = 0; n < 1000000 && (*reg & bit); ++n) {
    }
}

bool gic3_probe(void) {
    cpu_local_t *cpu = this_cpu();
    guard_begin(cpu);
    uint64_t typer = guarded_ld64(BOARD_GICR_BASE + GICR_TYPER);
    return !guard_end(cpu) && typer != 0 && typer != ~0ul;
}

void gic3_dist_init(void) {
    GICD(GICD_CTLR) = 0;
    wait_clear(&GICD(GICD_CTLR), GICD_CTLR_RWP);
    unsigned int lines = 32 * ((GICD(GICD_TYPER) & 0x1f) + 1);
    if (lines > 1020) {
        lines = 1020;
    }
    for (unsigned int i = 32; i < lines; i += 32) {
        GICD(GICD_ICENABLER(i / 32)) = 0xffffffff;
        GICD(GICD_ICPENDR(i / 32)) = 0xffffffff;
        GICD(GICD_ICACTIVER(i / 32)) = 0xffffffff;
        GICD(GICD_IGROUPR(i / 32)) = 0xffffffff;
    }
    uint64_t boot_cpu = mpidr_affinity(SYSREG_READ(mpidr_el1));
    for (unsigned int i = 32; i < lines; ++i) {
        GICD8(GICD_IPRIORITYR(i)) = GIC_PRIORITY;
        GICD64(GICD_IROUTER(i)) = boot_cpu;     // CPU 0 until someone asks otherwise
    }
    wait_clear(&GICD(GICD_CTLR), GICD_CTLR_RWP);
    GICD(GICD_CTLR) = GICD_CTLR_ARE;            // affinity routing first, then the groups
    wait_clear(&GICD(GICD_CTLR), GICD_CTLR_RWP);
    GICD(GICD_CTLR) = GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1 | GICD_CTLR_ENABLE_G0;
    wait_clear(&GICD(GICD_CTLR), GICD_CTLR_RWP);
}

// This CPU's redistributor: the frame whose GICR_TYPER names its affinity.
static uintptr_t find_redistributor(uint64_t affinity) {
    uintptr_t frame = BOARD_GICR_BASE;
    for (unsigned int n = 0; n < GICR_MAX_FRAMES; ++n) {
        uint64_t typer = *(volatile uint64_t *)(frame + GICR_TYPER);
        uint64_t aff = typer >> 32;
        if (((aff & 0xff000000ul) << 8 | (aff & 0xfffffful)) == affinity) {
            return frame;
        }
        if (typer & GICR_TYPER_LAST) {
            break;
        }
        frame += (typer & GICR_TYPER_VLPIS) ? 0x40000 : 0x20000;
    }
    return 0;
}

void gic3_cpu_init(void) {
    unsigned int cpu = cpu_index();
    gicr_base[cpu] = find_redistributor(mpidr_affinity(SYSREG_READ(mpidr_el1)));
    if (gicr_base[cpu] != 0) {
        // Awake: the redistributor forwards interrupts to this CPU.
        GICR(cpu, GICR_WAKER) &= ~GICR_WAKER_PROCESSOR_SLEEP;
        wait_clear(&GICR(cpu, GICR_WAKER), GICR_WAKER_CHILDREN_ASLEEP);
        GICR(cpu, GICR_IGROUPR0) = 0xffffffff;
        GICR(cpu, GICR_ICACTIVER0) = 0xffffffff;
        GICR(cpu, GICR_ICENABLER0) = 0xffff0000;    // PPIs off until a driver enables one
        GICR(cpu, GICR_ISENABLER0) = 0x0000ffff;    // SGIs on
        for (unsigned int i = 0; i < 32; ++i) {
            GICR8(cpu, GICR_IPRIORITYR(i)) = GIC_PRIORITY;
        }
        wait_clear(&GICR(cpu, GICR_CTLR), GICR_CTLR_RWP);
    }
    // The system register interface at EL2 (and allowed at EL1, whose
    // accesses to the rest are trapped while no guest owns them).
    GIC3_WRITE(ICC_SRE_EL2, ICC_SRE_SRE | ICC_SRE_DFB | ICC_SRE_DIB | ICC_SRE_ENABLE);
    isb();
    GIC3_WRITE(ICH_HCR_EL2, ICH_HCR_HOST);
    GIC3_WRITE(ICC_PMR_EL1, GIC_PMR);
    GIC3_WRITE(ICC_BPR1_EL1, 0);
    GIC3_WRITE(ICC_CTLR_EL1, ICC_CTLR_EOIMODE);     // EOIR drops the priority, DIR deactivates
    GIC3_WRITE(ICC_IGRPEN1_EL1, 1);
    isb();
}

// SGIs and PPIs are in the redistributor of the CPU that asks (as GICv2
// banks them), SPIs in the distributor.
void gic3_set_enabled(unsigned int intid, bool enabled) {
    uint32_t bit = 1u << (intid % 32);
    if (intid < 32) {
        unsigned int cpu = cpu_index();
        if (gicr_base[cpu] != 0) {
            GICR(cpu, enabled ? GICR_ISENABLER0 : GICR_ICENABLER0) = bit;
            wait_clear(&GICR(cpu, GICR_CTLR), GICR_CTLR_RWP);
        }
    } else {
        GICD(enabled ? GICD_ISENABLER(intid / 32) : GICD_ICENABLER(intid / 32)) = bit;
        if (!enabled) {
            wait_clear(&GICD(GICD_CTLR), GICD_CTLR_RWP);
        }
    }
}

bool gic3_is_enabled(unsigned int intid) {
    uint32_t bit = 1u << (intid % 32);
    if (intid < 32) {
        unsigned int cpu = cpu_index();
        return gicr_base[cpu] != 0 && (GICR(cpu, GICR_ISENABLER0) & bit);
    }
    return GICD(GICD_ISENABLER(intid / 32)) & bit;
}

// ICC_SGI1R_EL1 (12.2.24): the target's Aff3.Aff2.Aff1 and a bit for its
// Aff0 in a 16-wide target list (RS selects which 16).
void gic3_send_sgi(unsigned int intid, unsigned int cpu) {
    uint64_t mpidr = cpu < MAX_CPUS && cpu_local[cpu].mpidr ? cpu_local[cpu].mpidr : cpu;
    uint64_t aff0 = mpidr & 0xff;
    uint64_t sgi = ((uint64_t)(intid & 0xf) << 24)
        | (((mpidr >> 8) & 0xff) << 16)                  // Aff1
        | (((mpidr >> 16) & 0xff) << 32)                 // Aff2
        | (((mpidr >> 32) & 0xff) << 48)                 // Aff3
        | ((aff0 >> 4) << 44)                            // RS
        | (1ul << (aff0 & 0xf));
    // The memory the receiver reads (a mailbox) is written before the SGI
    // leaves: a system register write is not ordered with stores otherwise.
    __asm__ volatile ("dsb ishst" ::: "memory");
    GIC3_WRITE(ICC_SGI1R_EL1, sgi);
    isb();
}

uintptr_t gic3_redistributor(unsigned int cpu) {
    return cpu < MAX_CPUS ? gicr_base[cpu] : 0;
}

void gic3_route(unsigned int intid, unsigned int cpu) {
    uint64_t mpidr = cpu < MAX_CPUS && cpu_local[cpu].mpidr ? cpu_local[cpu].mpidr : SYSREG_READ(mpidr_el1);
    GICD64(GICD_IROUTER(intid)) = mpidr_affinity(mpidr);
    wait_clear(&GICD(GICD_CTLR), GICD_CTLR_RWP);
}

#else   // a board without GICv3: never probed as one

bool gic3_probe(void) {
    return false;
}
void gic3_dist_init(void) {
}
void gic3_cpu_init(void) {
}
void gic3_set_enabled(unsigned int intid, bool enabled) {
    (void)intid;
    (void)enabled;
}
bool gic3_is_enabled(unsigned int intid) {
    (void)intid;
    return false;
}
void gic3_send_sgi(unsigned int intid, unsigned int cpu) {
    (void)intid;
    (void)cpu;
}
uintptr_t gic3_redistributor(unsigned int cpu) {
    (void)cpu;
    return 0;
}
void gic3_route(unsigned int intid, unsigned int cpu) {
    (void)intid;
    (void)cpu;
}

#endif
