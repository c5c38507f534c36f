// Register values the firmware starts from; shared by assembly and C.
#ifndef BOOT_EL2_DEFS_H
#define BOOT_EL2_DEFS_H

// EL3 -> EL2 drop: NS, HCE (HVC enabled), RW (EL2 is AArch64), RES1 bits 4 and 5.
#define SCR_EL3_BOOT        0x531
#define SPSR_EL2H_MASKED    0x3c9       // EL2h, DAIF all masked

// IMO, FMO and AMO route physical IRQ, FIQ and SError to EL2. Without IMO an
// IRQ targets EL1 and is never taken while the CPU executes at EL2.
#define HCR_EL2_BOOT        0x38

// CPTR_EL2: RES1 bits, TFP clear so FP/SIMD does not trap.
#define CPTR_EL2_BOOT       0x33ff

// SCTLR_EL2: RES1 bits, SA (stack alignment check), and the MMU (M) with data
// (C) and instruction (I) caches on. WXN stays clear: the sysreg stubs are
// code written at run time.
#define SCTLR_EL2_BOOT      0x30c5183d

// EL2 translation: 4 KiB granule, 39-bit addresses (walk starts at level 1),
// table walks inner/outer write-back cacheable, inner shareable, 40-bit PA.
#define TCR_EL2_BOOT        ((1 << 31) | (1 << 23) | (2 << 16) | (3 << 12) | (1 << 10) | (1 << 8) | 25)
#define MAIR_IDX_DEVICE     0           // Device-nGnRnE
#define MAIR_IDX_NORMAL     1           // Normal, write-back, read/write-allocate
#define MAIR_EL2_BOOT       0xff00
#define MMU_UNMAPPED        0
#define MMU_NORMAL          1
#define MMU_DEVICE          2

// CNTHCTL_EL2: EL1 may use the physical counter and timer (bits 0, 1); an
// event stream (EVNTEN, bit 2) every 2^10 counter ticks bounds every WFE
// wait, so a missed SEV costs microseconds, not a hang.
#define CNTHCTL_EL2_BOOT    (0x3 | 0x4 | (9 << 4))

// The trap frame the vector code saves: x0..x30, SP_EL0, ELR_EL2, SPSR_EL2
// (34 x 8 bytes, as the reference's vector code).
#define FRAME_X(n)          ((n) * 8)
#define FRAME_SP_EL0        (31 * 8)
#define FRAME_ELR           (32 * 8)
#define FRAME_SPSR          (33 * 8)
#define FRAME_SIZE          (34 * 8)
// Caller-saved FP/SIMD state (q0-q7, q16-q31, FPCR, FPSR) kept beside the frame,
// so C code in an exception handler cannot corrupt the interrupted code's registers.
#define FPFRAME_SIZE        (24 * 16 + 16)

// Exception kinds passed to C: source * 4 + type.
#define EXC_SYNC            0
#define EXC_IRQ             1
#define EXC_FIQ             2
#define EXC_SERROR          3
#define EXC_FROM_CUR_SP0    0
#define EXC_FROM_CUR_SPX    4
#define EXC_FROM_LOWER_A64  8
#define EXC_FROM_LOWER_A32  12

#endif
