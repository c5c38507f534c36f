/* AArch64 registers and bits the test guest uses, by name. Shared with start.S. */
#ifndef TESTGUEST_ARM_H
#define TESTGUEST_ARM_H

/* The Linux arm64 Image header (Documentation/arch/arm64/booting.rst). */
#define IMAGE_MAGIC             0x644d5241      /* "ARM\x64", little endian */
/* flags: bit 0 = 0 little endian, bits 2:1 = 1 4 KiB pages, bit 3 = 0 the
   2 MiB aligned base as close as possible to the start of RAM: the guest is
   linked at RAM + text_offset and does not relocate itself. */
#define IMAGE_FLAGS             0x2

#define MAX_CPUS                8               /* the VM's device tree has 1..8 */
#define PRIMARY_STACK_SIZE      16384
#define SECONDARY_STACK_SIZE    4096

/* The exception frame start.S saves: x0..x30, ELR_EL1, SPSR_EL1, and
   CNTVCT_EL0 as the vector entry read it. */
#define FRAME_ELR               (31 * 8)
#define FRAME_SPSR              (32 * 8)
#define FRAME_STAMP             (33 * 8)
#define FRAME_SIZE              (34 * 8)

/* Vector table entries, in table order (offset = index * 0x80). */
#define VECTOR_CUR_SP0_SYNC     0
#define VECTOR_CUR_SPX_SYNC     4
#define VECTOR_CUR_SPX_IRQ      5
#define VECTOR_COUNT            16

#ifndef __ASSEMBLER__
#include <stdint.h>

#define read_sysreg(name) ({ uint64_t v_; __asm__ volatile("mrs %0, " #name : "=r"(v_)); v_; })
#define write_sysreg(name, v) __asm__ volatile("msr " #name ", %0" : : "r"((uint64_t)(v)) : "memory")

static inline void isb(void) { __asm__ volatile("isb" : : : "memory"); }
static inline void dsb_sy(void) { __asm__ volatile("dsb sy" : : : "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" : : : "memory"); }
static inline void sev(void) { __asm__ volatile("sev" : : : "memory"); }

#define BIT(n)                  (1ul << (n))

#define CURRENT_EL(v)           (((v) >> 2) & 3)
#define DAIF_ALL                (0xful << 6)   /* D, A, I, F */

#define SCTLR_M                 BIT(0)          /* stage 1 MMU */
#define SCTLR_C                 BIT(2)
#define SCTLR_I                 BIT(12)

/* MPIDR_EL1's affinity fields (Aff3, Aff2..Aff0): what a cpu node's reg holds. */
#define MPIDR_AFFINITY_MASK     0xff00fffffful

#define ESR_EC(esr)             (((esr) >> 26) & 0x3f)
#define ESR_ISS(esr)            ((esr) & 0x1ffffff)
#define EC_UNKNOWN              0x00
#define EC_SVC64                0x15
#define EC_DATA_ABORT_SAME_EL   0x25
#define EC_BRK64                0x3c

#define TCR_T0SZ(n)             ((uint64_t)(n))
#define TCR_IRGN0_WBWA          (1ul << 8)
#define TCR_ORGN0_WBWA          (1ul << 10)
#define TCR_SH0_INNER           (3ul << 12)
#define TCR_TG0_4K              (0ul << 14)
#define TCR_EPD1                BIT(23)         /* no TTBR1 walks */
#define TCR_IPS_40BIT           (2ul << 32)
#endif

#endif
