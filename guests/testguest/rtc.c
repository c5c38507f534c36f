/* mode=rtc: a physical device's interrupt, passed through to the guest.
   The hypervisor maps QEMU virt's PL031 RTC into the guest at its own
   address and forwards its interrupt (SPI 2, INTID 34) through the list
   registers with the HW bit, so the guest's EOI on its GIC CPU interface
   deactivates the physical interrupt (vm.VM.passthrough(..., irq=34)).
   The guest drives its GIC itself (a GICv2, at the tree's address or
   virt's; or a GICv3 the tree names, through the ICC_* registers), sets the RTC's match register a second or two ahead with its
   interrupt unmasked, waits in WFI, and in the handler acknowledges, reads
   the RTC's masked status, clears it, and ends the interrupt. Also runs
   under plain QEMU virt (no hypervisor): the same result. */
#include "testguest.h"
#include "gic.h"

#define RTC_BASE                0x09010000ul    /* QEMU virt's PL031 */
#define RTC_INTID               34              /* SPI 2 */
#define RTC_DR                  0x00            /* seconds now */
#define RTC_MR                  0x04            /* match: interrupt when DR reaches it */
#define RTC_IMSC                0x10            /* interrupt mask: 1 = enabled */
#define RTC_RIS                 0x14
#define RTC_MIS                 0x18
#define RTC_ICR                 0x1c
#define RTC_PRIORITY            0xa0

/* A GICv3 (the tree says arm,gic-v3): affinity routing, Group 1, the
   redistributor awake, the CPU interface's system registers. */
#define GICD_CTLR_ARE           BIT(4)
#define GICD_CTLR_GRP1          BIT(1)
#define GICD_CTLR_RWP           BIT(31)
#define GICD_IGROUPR(n)         (0x080 + 4 * (n))
#define GICD_IROUTER(n)         (0x6000 + 8 * (n))
#define GICR_WAKER              0x014
#define GICR_WAKER_SLEEP        BIT(1)
#define GICR_WAKER_ASLEEP       BIT(2)

static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }

static uint64_t gicc;
static bool v3;
static volatile uint32_t rtc_taken, other_intid, spurious, mis_seen, ris_after;

static void rtc_irq(struct exception_frame *frame)
{
    (void)frame;
    uint32_t iar = v3 ? (uint32_t)read_sysreg(S3_0_C12_C12_0) : mmio_read32(gicc + GICC_IAR);   /* ICC_IAR1_EL1 */
    uint32_t intid = iar & INTID_MASK;
    if (intid == INTID_SPURIOUS) {
        spurious++;
        return;
    }
    if (intid == RTC_INTID) {
        mis_seen = mmio_read32(RTC_BASE + RTC_MIS);
        mmio_write32(RTC_BASE + RTC_IMSC, 0);   /* one interrupt is all this asks for */
        mmio_write32(RTC_BASE + RTC_ICR, 1);
        ris_after = mmio_read32(RTC_BASE + RTC_RIS);
        rtc_taken++;
    } else {
        other_intid++;
    }
    if (v3) {
        write_sysreg(S3_0_C12_C12_1, iar);      /* ICC_EOIR1_EL1 */
        isb();
    } else {
        mmio_write32(gicc + GICC_EOIR, iar);    /* with HW=1: the physical one is deactivated too */
    }
}

static void wait_clear(uint64_t reg, uint32_t bit)
{
    for (uint32_t n = 0; n < 1000000 && (mmio_read32(reg) & bit); n++) {
    }
}

static void gic3_setup(uint64_t gicd, uint64_t gicr)
{
    mmio_write32(gicd + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
    wait_clear(gicd + GICD_CTLR, GICD_CTLR_RWP);
    mmio_write32(gicd + GICD_IGROUPR(RTC_INTID / 32), mmio_read32(gicd + GICD_IGROUPR(RTC_INTID / 32))
                 | 1u << (RTC_INTID % 32));
    *(volatile uint64_t *)(gicd + GICD_IROUTER(RTC_INTID)) = read_sysreg(mpidr_el1) & 0xff00ffffffull;
    uint32_t w = mmio_read32(gicd + GICD_IPRIORITYR(RTC_INTID & ~3u));
    w &= ~(0xffu << (8 * (RTC_INTID % 4)));
    mmio_write32(gicd + GICD_IPRIORITYR(RTC_INTID & ~3u), w | (uint32_t)RTC_PRIORITY << (8 * (RTC_INTID % 4)));
    mmio_write32(gicd + GICD_ISENABLER(RTC_INTID / 32), 1u << (RTC_INTID % 32));
    wait_clear(gicd + GICD_CTLR, GICD_CTLR_RWP);
    mmio_write32(gicr + GICR_WAKER, mmio_read32(gicr + GICR_WAKER) & ~GICR_WAKER_SLEEP);
    wait_clear(gicr + GICR_WAKER, GICR_WAKER_ASLEEP);
    write_sysreg(S3_0_C12_C12_5, read_sysreg(S3_0_C12_C12_5) | 1);     /* ICC_SRE_EL1.SRE */
    isb();
    write_sysreg(S3_0_C4_C6_0, 0xf0);           /* ICC_PMR_EL1 */
    write_sysreg(S3_0_C12_C12_7, 1);            /* ICC_IGRPEN1_EL1 */
    isb();
}

static void gicv2_setup(uint64_t gicd)
{
    mmio_write32(gicd + GICD_CTLR, 1);
    uint32_t w = mmio_read32(gicd + GICD_IPRIORITYR(RTC_INTID & ~3u));
    w &= ~(0xffu << (8 * (RTC_INTID % 4)));
    mmio_write32(gicd + GICD_IPRIORITYR(RTC_INTID & ~3u), w | (uint32_t)RTC_PRIORITY << (8 * (RTC_INTID % 4)));
    w = mmio_read32(gicd + GICD_ITARGETSR(RTC_INTID & ~3u));
    w &= ~(0xffu << (8 * (RTC_INTID % 4)));
    mmio_write32(gicd + GICD_ITARGETSR(RTC_INTID & ~3u), w | 1u << (8 * (RTC_INTID % 4)));
    mmio_write32(gicd + GICD_ISENABLER(RTC_INTID / 32), 1u << (RTC_INTID % 32));
    mmio_write32(gicc + GICC_PMR, 0xf0);
    mmio_write32(gicc + GICC_CTLR, 1);
}

void mode_rtc(void)
{
    uint64_t gicd, size;
    int node = fdt_find_compatible(-1, "arm,gic-v3");
    v3 = node >= 0 && fdt_reg(node, 0, &gicd, &size) && fdt_reg(node, 1, &gicc, &size);
    if (v3) {
        say("rtc: PL031 at 0x%lx, INTID %u, GICv3: GICD 0x%lx, GICR 0x%lx", RTC_BASE, RTC_INTID, gicd, gicc);
        gic3_setup(gicd, gicc);         /* (gicc: the redistributors, here) */
    } else {
        gicv2_bases(&gicd, &gicc);
        say("rtc: PL031 at 0x%lx, INTID %u, GICD 0x%lx, GICC 0x%lx", RTC_BASE, RTC_INTID, gicd, gicc);
    }
    if (!v3) {
        gicv2_setup(gicd);
    }


    irq_handler = rtc_irq;
    mmio_write32(RTC_BASE + RTC_ICR, 1);        /* nothing left from before */
    uint32_t now = mmio_read32(RTC_BASE + RTC_DR);
    mmio_write32(RTC_BASE + RTC_MR, now + 2);   /* 1..2 s ahead: the RTC counts whole seconds */
    mmio_write32(RTC_BASE + RTC_IMSC, 1);
    __asm__ volatile("msr daifclr, #2" : : : "memory");
    struct deadline d = deadline_after_ms(15000);
    while (rtc_taken == 0 && !deadline_passed(&d)) {
        wfi();
    }
    __asm__ volatile("msr daifset, #2" : : : "memory");
    mmio_write32(RTC_BASE + RTC_IMSC, 0);
    mmio_write32(gicd + GICD_ICENABLER(RTC_INTID / 32), 1u << (RTC_INTID % 32));
    irq_handler = NULL;
    check(rtc_taken == 1 && other_intid == 0 && mis_seen == 1 && ris_after == 0,
          "rtc: took %u interrupts with INTID %u from %s (RTCMIS %u, RTCRIS %u after RTCICR), "
          "%u with another INTID, %u spurious",
          rtc_taken, RTC_INTID, v3 ? "ICC_IAR1_EL1" : "GICC_IAR", mis_seen, ris_after, other_intid, spurious);
}
