// GICv3 half of the GIC driver, called by gic.c alone (the rest of the
// firmware sees only gic.h): the distributor with affinity routing, one
// redistributor per CPU, the CPU interface through the ICC_* system
// registers at EL2. QEMU virt with gic-version=3 has one; the board says
// where its redistributors start (BOARD_GICR_BASE).
#ifndef CORE_GIC3_H
#define CORE_GIC3_H

#include <stdbool.h>
#include <stdint.h>

// GICv3 CPU interface registers by encoding: the assembler needs no GIC
// feature flag for these names.
#define ICC_SRE_EL2         S3_4_C12_C9_5
#define ICC_SRE_EL1         S3_0_C12_C12_5
#define ICC_PMR_EL1         S3_0_C4_C6_0
#define ICC_BPR1_EL1        S3_0_C12_C12_3
#define ICC_CTLR_EL1        S3_0_C12_C12_4
#define ICC_IGRPEN1_EL1     S3_0_C12_C12_7
#define ICC_IAR1_EL1        S3_0_C12_C12_0
#define ICC_EOIR1_EL1       S3_0_C12_C12_1
#define ICC_DIR_EL1         S3_0_C12_C11_1
#define ICC_CTLR_EOIMODE    (1u << 1)   // EOIR drops the priority, DIR deactivates
#define ICC_SGI1R_EL1       S3_0_C12_C11_5
#define ICH_HCR_EL2         S3_4_C12_C11_0

#define ICC_SRE_SRE         (1u << 0)   // the system register interface
#define ICC_SRE_DFB         (1u << 1)   // FIQ bypass off
#define ICC_SRE_DIB         (1u << 2)   // IRQ bypass off
#define ICC_SRE_ENABLE      (1u << 3)   // EL1 may use ICC_SRE_EL1

// ICH_HCR_EL2 traps of EL1's ICC_* accesses (GICv3 spec, 12.4.4)
#define ICH_HCR_EN          (1u << 0)
#define ICH_HCR_UIE         (1u << 1)
#define ICH_HCR_TC          (1u << 10)  // registers common to both groups
#define ICH_HCR_TALL0       (1u << 11)  // Group 0 registers
#define ICH_HCR_TALL1       (1u << 12)  // Group 1 registers
// Between guests: a guest at EL1 must not reach the host's CPU interface
// (with HCR_EL2.IMO clear its ICC_* accesses would be physical ones).
#define ICH_HCR_HOST        (ICH_HCR_TC | ICH_HCR_TALL0 | ICH_HCR_TALL1)

// The register names above are macros: expanded before they become text.
#define GIC3_STR_(x) #x
#define GIC3_STR(x) GIC3_STR_(x)
#define GIC3_READ(reg) ({ uint64_t v_; __asm__ volatile ("mrs %0, " GIC3_STR(reg) : "=r" (v_)); v_; })
#define GIC3_WRITE(reg, v) __asm__ volatile ("msr " GIC3_STR(reg) ", %0" :: "r" ((uint64_t)(v)) : "memory")

// Is there a redistributor at BOARD_GICR_BASE? (boot CPU, after the
// distributor said GICv3; false on a board without one)
bool gic3_probe(void);
void gic3_dist_init(void);
void gic3_cpu_init(void);
void gic3_set_enabled(unsigned int intid, bool enabled);
bool gic3_is_enabled(unsigned int intid);
void gic3_send_sgi(unsigned int intid, unsigned int cpu);
// SPI `intid` to `cpu` by affinity (GICD_IROUTER).
void gic3_route(unsigned int intid, unsigned int cpu);
// Redistributor of `cpu` (0 before it came up): Python reports it.
uintptr_t gic3_redistributor(unsigned int cpu);

// Acknowledge the highest priority pending Group 1 interrupt; its INTID
// (1020..1023: none).
static inline uint32_t gic3_ack(void) {
    uint32_t iar = (uint32_t)GIC3_READ(ICC_IAR1_EL1);
    __asm__ volatile ("dsb sy" ::: "memory");  // the handler's reads come after the acknowledge
    return iar & 0xffffff;
}

// End: the priority drop (EOImode is split, as on the GICv2 path: a
// forwarded interrupt stays active for its guest), then the deactivation.
static inline void gic3_eoi(uint32_t intid) {
    GIC3_WRITE(ICC_EOIR1_EL1, intid);
    __asm__ volatile ("isb" ::: "memory");
}

static inline void gic3_deactivate(uint32_t intid) {
    GIC3_WRITE(ICC_DIR_EL1, intid);
    __asm__ volatile ("isb" ::: "memory");
}

#endif
