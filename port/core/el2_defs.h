// Register values the firmware starts from, and the trap-frame layout: shared
// by the assembly in boot/ and the C core. Every bit is a named field of the
// register table (firmware/sysregs.py, generated into genhdr/sysreg_fields.h).
#ifndef CORE_EL2_DEFS_H
#define CORE_EL2_DEFS_H

#include "genhdr/sysreg_fields.h"

// EL3 -> EL2 drop: Non-secure, HVC enabled, EL2 is AArch64.
#define SCR_EL3_BOOT        (SCR_EL3_RES1 | SCR_EL3_NS | SCR_EL3_HCE | SCR_EL3_RW)
// EL2h (M = 9) and EL1h (M = 5) with D, A, I and F masked.
#define SPSR_DAIF_MASKED    (SPSR_EL2_D | SPSR_EL2_A | SPSR_EL2_I | SPSR_EL2_F)
#define SPSR_EL2H_MASKED    (SPSR_DAIF_MASKED | (9 << SPSR_EL2_M_SHIFT))
#define SPSR_EL1H_MASKED    (SPSR_DAIF_MASKED | (5 << SPSR_EL2_M_SHIFT))

// IMO, FMO and AMO route physical IRQ, FIQ and SError to EL2. Without IMO an
// IRQ targets EL1 and is never taken while the CPU executes at EL2.
#define HCR_EL2_BOOT        (HCR_EL2_IMO | HCR_EL2_FMO | HCR_EL2_AMO)

// CPTR_EL2: TFP clear so FP/SIMD does not trap; SVE (TZ) traps.
#define CPTR_EL2_BOOT       (CPTR_EL2_RES1 | CPTR_EL2_TZ)

// SCTLR_EL2: the MMU (M) with data (C) and instruction (I) caches, and the
// stack alignment check (SA). WXN stays clear: the sysreg stubs are code
// written at run time.
#define SCTLR_EL2_BOOT      (SCTLR_EL2_RES1 | SCTLR_EL2_M | SCTLR_EL2_C | SCTLR_EL2_SA | SCTLR_EL2_I)

// EL2 translation: 4 KiB granule, 39-bit addresses (walk starts at level 1),
// table walks inner/outer write-back cacheable, inner shareable, 40-bit PA.
#define TCR_EL2_BOOT        (TCR_EL2_RES1 | (2 << TCR_EL2_PS_SHIFT) | (0 << TCR_EL2_TG0_SHIFT) \
                             | (3 << TCR_EL2_SH0_SHIFT) | (1 << TCR_EL2_ORGN0_SHIFT) \
                             | (1 << TCR_EL2_IRGN0_SHIFT) | (25 << TCR_EL2_T0SZ_SHIFT))
#define MAIR_IDX_DEVICE     0           // Device-nGnRnE (attribute 0x00)
#define MAIR_IDX_NORMAL     1           // Normal, write-back, read/write-allocate
#define MAIR_EL2_BOOT       (0xff << MAIR_EL2_ATTR1_SHIFT)
#define MMU_UNMAPPED        0
#define MMU_NORMAL          1
#define MMU_DEVICE          2

// MDCR_EL2 bits set at boot (HPMN is kept): a guest's accesses to the debug
// and performance-monitor registers trap to EL2 (EC 0x18), so no guest can
// leave breakpoints or counters behind for the next one.
#define MDCR_EL2_GUEST_TRAPS (MDCR_EL2_TDRA | MDCR_EL2_TDOSA | MDCR_EL2_TDA | MDCR_EL2_TPM | MDCR_EL2_TPMCR)

// CNTHCTL_EL2: EL1 may use the physical counter and timer; an event stream
// (EVNTEN) every 2^10 counter ticks bounds every WFE wait, so a missed SEV
// costs microseconds, not a hang.
#define CNTHCTL_EL2_BOOT    (CNTHCTL_EL2_EL1PCTEN | CNTHCTL_EL2_EL1PCEN | CNTHCTL_EL2_EVNTEN \
                             | (9 << CNTHCTL_EL2_EVNTI_SHIFT))

// arm64 Image header flags: little-endian (bit 0 clear), 4 KiB pages (bits
// 2:1 = 1), and bit 3 clear: the 2 MiB aligned base sits at the start of RAM,
// so a loader puts the image at RAM base + text_offset, which is LOAD_ADDR
// (the firmware is linked there and cannot run anywhere else).
#define IMAGE_FLAGS         (1 << 1)

// The trap frame the vector code saves: x0..x30, SP_EL0, ELR_EL2, SPSR_EL2
// (34 x 8 bytes, as the reference's vector code). trap_frame_t (core/cpu.h)
// is checked against these offsets at build time.
#define FRAME_X(n)          ((n) * 8)
#define FRAME_SP_EL0        (31 * 8)
#define FRAME_ELR           (32 * 8)
#define FRAME_SPSR          (33 * 8)
#define FRAME_SIZE          (34 * 8)
// Caller-saved FP/SIMD state kept beside the frame (q0-q7, q16-q31, then FPCR
// and FPSR), so C code in an exception handler cannot corrupt the
// interrupted code's registers.
#define FPFRAME_QREGS       24
#define FPFRAME_FPCR        (FPFRAME_QREGS * 16)
#define FPFRAME_SIZE        (FPFRAME_FPCR + 16)

// Exception kinds passed to C: source * 4 + type.
#define EXC_SYNC            0
#define EXC_IRQ             1
#define EXC_FIQ             2
#define EXC_SERROR          3
#define EXC_TYPE(kind)      ((kind) & 3)
#define EXC_SOURCE(kind)    (((kind) >> 2) & 3)
#define EXC_FROM_CUR_SP0    0
#define EXC_FROM_CUR_SPX    4
#define EXC_FROM_LOWER_A64  8
#define EXC_FROM_LOWER_A32  12

#endif
