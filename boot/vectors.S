// The firmware's two EL2 vector tables.
//
// host_exception_vectors: installed in VBAR_EL2 at boot on every CPU. IRQs go
// straight to the firmware's host IRQ handler.
//
// exception_vector_base_vcpu: what pcpu.hardware_enable() installs. Current-EL
// IRQs go through this CPU's IRQ_HANDLER slot; lower-EL synchronous exceptions
// and IRQs are VM exits.
//
// Every entry saves the 34-register trap frame (x0..x30, SP_EL0, ELR_EL2,
// SPSR_EL2) plus the caller-saved FP/SIMD registers, calls C with the frame
// and the exception kind, and returns through exception_return.
#include "el2_defs.h"

.macro SAVE_GPRS
    stp     x0, x1, [sp, #FRAME_X(0)]
    stp     x2, x3, [sp, #FRAME_X(2)]
    stp     x4, x5, [sp, #FRAME_X(4)]
    stp     x6, x7, [sp, #FRAME_X(6)]
    stp     x8, x9, [sp, #FRAME_X(8)]
    stp     x10, x11, [sp, #FRAME_X(10)]
    stp     x12, x13, [sp, #FRAME_X(12)]
    stp     x14, x15, [sp, #FRAME_X(14)]
    stp     x16, x17, [sp, #FRAME_X(16)]
    stp     x18, x19, [sp, #FRAME_X(18)]
    stp     x20, x21, [sp, #FRAME_X(20)]
    stp     x22, x23, [sp, #FRAME_X(22)]
    stp     x24, x25, [sp, #FRAME_X(24)]
    stp     x26, x27, [sp, #FRAME_X(26)]
    stp     x28, x29, [sp, #FRAME_X(28)]
    mrs     x9, sp_el0
    stp     x30, x9, [sp, #FRAME_X(30)]
    mrs     x10, elr_el2
    mrs     x11, spsr_el2
    stp     x10, x11, [sp, #FRAME_ELR]
.endm

.macro SAVE_FRAME
    sub     sp, sp, #(FRAME_SIZE + FPFRAME_SIZE)
    SAVE_GPRS
    add     x9, sp, #FRAME_SIZE
    stp     q0, q1, [x9, #0]
    stp     q2, q3, [x9, #32]
    stp     q4, q5, [x9, #64]
    stp     q6, q7, [x9, #96]
    stp     q16, q17, [x9, #128]
    stp     q18, q19, [x9, #160]
    stp     q20, q21, [x9, #192]
    stp     q22, q23, [x9, #224]
    stp     q24, q25, [x9, #256]
    stp     q26, q27, [x9, #288]
    stp     q28, q29, [x9, #320]
    stp     q30, q31, [x9, #352]
    mrs     x10, fpcr
    mrs     x11, fpsr
    stp     x10, x11, [x9, #FPFRAME_FPCR]
.endm

// Entry: branch to the handler for this kind; each slot is 0x80 bytes.
.macro VECTOR handler
    .balign 0x80
    b       \handler
.endm

// Out-of-line handler: save, call cfunc(frame, kind), restore and return.
.macro HANDLER name, cfunc, kind
\name:
    SAVE_FRAME
    mov     x0, sp
    mov     x1, #(\kind)
    bl      \cfunc
    b       exception_return
.endm

.macro RESTORE_GPRS
    ldp     x10, x11, [sp, #FRAME_ELR]
    msr     elr_el2, x10
    msr     spsr_el2, x11
    ldp     x30, x9, [sp, #FRAME_X(30)]
    msr     sp_el0, x9
    ldp     x0, x1, [sp, #FRAME_X(0)]
    ldp     x2, x3, [sp, #FRAME_X(2)]
    ldp     x4, x5, [sp, #FRAME_X(4)]
    ldp     x6, x7, [sp, #FRAME_X(6)]
    ldp     x8, x9, [sp, #FRAME_X(8)]
    ldp     x10, x11, [sp, #FRAME_X(10)]
    ldp     x12, x13, [sp, #FRAME_X(12)]
    ldp     x14, x15, [sp, #FRAME_X(14)]
    ldp     x16, x17, [sp, #FRAME_X(16)]
    ldp     x18, x19, [sp, #FRAME_X(18)]
    ldp     x20, x21, [sp, #FRAME_X(20)]
    ldp     x22, x23, [sp, #FRAME_X(22)]
    ldp     x24, x25, [sp, #FRAME_X(24)]
    ldp     x26, x27, [sp, #FRAME_X(26)]
    ldp     x28, x29, [sp, #FRAME_X(28)]
.endm

.macro GUEST_HANDLER name, kind
\name:
    sub     sp, sp, #FRAME_SIZE
    SAVE_GPRS
    mov     x0, sp
    mov     x1, #(\kind)
    bl      vm_exit
    b       guest_exception_return
.endm

    .text
    .balign 16
    .global exception_return
exception_return:
    add     x9, sp, #FRAME_SIZE
    ldp     q0, q1, [x9, #0]
    ldp     q2, q3, [x9, #32]
    ldp     q4, q5, [x9, #64]
    ldp     q6, q7, [x9, #96]
    ldp     q16, q17, [x9, #128]
    ldp     q18, q19, [x9, #160]
    ldp     q20, q21, [x9, #192]
    ldp     q22, q23, [x9, #224]
    ldp     q24, q25, [x9, #256]
    ldp     q26, q27, [x9, #288]
    ldp     q28, q29, [x9, #320]
    ldp     q30, q31, [x9, #352]
    ldp     x10, x11, [x9, #FPFRAME_FPCR]
    msr     fpcr, x10
    msr     fpsr, x11
    RESTORE_GPRS
    add     sp, sp, #(FRAME_SIZE + FPFRAME_SIZE)
    eret

// A VM exit: the guest's registers go in the frame; vm_exit() either answers
// in C and returns here (the null hypercall), or leaves through
// vcpu_exit_to_host() and never returns. C on this path uses no FP/SIMD
// registers, so the guest's stay live until vcpu_exit_to_host saves them.
    .global guest_exception_return
guest_exception_return:
    RESTORE_GPRS
    add     sp, sp, #FRAME_SIZE
    eret

// ---------------------------------------------------------------------------
// Host vectors: the firmware's own table, VBAR_EL2 from boot.

    .balign 0x800
    .global host_exception_vectors
host_exception_vectors:
    VECTOR  host_invalid_sync_sp0
    VECTOR  host_invalid_irq_sp0
    VECTOR  host_invalid_fiq_sp0
    VECTOR  host_invalid_serror_sp0
    VECTOR  host_el2_sync               // guarded-access recovery or fault report
    VECTOR  host_el2_irq                // host IRQ handler, directly
    VECTOR  host_invalid_fiq_spx
    VECTOR  host_invalid_serror_spx
    VECTOR  host_invalid_sync_lower64   // the host never runs a guest on these vectors
    VECTOR  host_invalid_irq_lower64
    VECTOR  host_invalid_fiq_lower64
    VECTOR  host_invalid_serror_lower64
    VECTOR  host_invalid_sync_lower32
    VECTOR  host_invalid_irq_lower32
    VECTOR  host_invalid_fiq_lower32
    VECTOR  host_invalid_serror_lower32

HANDLER host_invalid_sync_sp0,       invalid_exception, EXC_FROM_CUR_SP0 + EXC_SYNC
HANDLER host_invalid_irq_sp0,        invalid_exception, EXC_FROM_CUR_SP0 + EXC_IRQ
HANDLER host_invalid_fiq_sp0,        invalid_exception, EXC_FROM_CUR_SP0 + EXC_FIQ
HANDLER host_invalid_serror_sp0,     invalid_exception, EXC_FROM_CUR_SP0 + EXC_SERROR
HANDLER host_el2_sync,               el2_sync_exception, EXC_FROM_CUR_SPX + EXC_SYNC
HANDLER host_el2_irq,                host_irq_entry, EXC_FROM_CUR_SPX + EXC_IRQ
HANDLER host_invalid_fiq_spx,        invalid_exception, EXC_FROM_CUR_SPX + EXC_FIQ
HANDLER host_invalid_serror_spx,     invalid_exception, EXC_FROM_CUR_SPX + EXC_SERROR
HANDLER host_invalid_sync_lower64,   invalid_exception, EXC_FROM_LOWER_A64 + EXC_SYNC
HANDLER host_invalid_irq_lower64,    invalid_exception, EXC_FROM_LOWER_A64 + EXC_IRQ
HANDLER host_invalid_fiq_lower64,    invalid_exception, EXC_FROM_LOWER_A64 + EXC_FIQ
HANDLER host_invalid_serror_lower64, invalid_exception, EXC_FROM_LOWER_A64 + EXC_SERROR
HANDLER host_invalid_sync_lower32,   invalid_exception, EXC_FROM_LOWER_A32 + EXC_SYNC
HANDLER host_invalid_irq_lower32,    invalid_exception, EXC_FROM_LOWER_A32 + EXC_IRQ
HANDLER host_invalid_fiq_lower32,    invalid_exception, EXC_FROM_LOWER_A32 + EXC_FIQ
HANDLER host_invalid_serror_lower32, invalid_exception, EXC_FROM_LOWER_A32 + EXC_SERROR

// ---------------------------------------------------------------------------
// vCPU vectors: installed by hardware_enable(), as in the reference.

    .balign 0x800
    .global exception_vector_base_vcpu
exception_vector_base_vcpu:
    VECTOR  vcpu_invalid_sync_sp0
    VECTOR  vcpu_invalid_irq_sp0
    VECTOR  vcpu_invalid_fiq_sp0
    VECTOR  vcpu_invalid_serror_sp0
    VECTOR  vcpu_el2_sync               // guarded-access recovery or fault report
    VECTOR  vcpu_el2_irq                // this CPU's IRQ_HANDLER
    VECTOR  vcpu_invalid_fiq_spx
    VECTOR  vcpu_invalid_serror_spx
    VECTOR  vcpu_guest_sync             // VM exit: trap from the guest
    VECTOR  vcpu_guest_irq              // VM exit: IRQ while the guest ran
    VECTOR  vcpu_invalid_fiq_lower64
    VECTOR  vcpu_invalid_serror_lower64
    VECTOR  vcpu_invalid_sync_lower32   // AArch32 guests are not supported
    VECTOR  vcpu_invalid_irq_lower32
    VECTOR  vcpu_invalid_fiq_lower32
    VECTOR  vcpu_invalid_serror_lower32

HANDLER vcpu_invalid_sync_sp0,       invalid_exception, EXC_FROM_CUR_SP0 + EXC_SYNC
HANDLER vcpu_invalid_irq_sp0,        invalid_exception, EXC_FROM_CUR_SP0 + EXC_IRQ
HANDLER vcpu_invalid_fiq_sp0,        invalid_exception, EXC_FROM_CUR_SP0 + EXC_FIQ
HANDLER vcpu_invalid_serror_sp0,     invalid_exception, EXC_FROM_CUR_SP0 + EXC_SERROR
HANDLER vcpu_el2_sync,               el2_sync_exception, EXC_FROM_CUR_SPX + EXC_SYNC
HANDLER vcpu_el2_irq,                vcpu_irq_entry, EXC_FROM_CUR_SPX + EXC_IRQ
HANDLER vcpu_invalid_fiq_spx,        invalid_exception, EXC_FROM_CUR_SPX + EXC_FIQ
HANDLER vcpu_invalid_serror_spx,     invalid_exception, EXC_FROM_CUR_SPX + EXC_SERROR
GUEST_HANDLER vcpu_guest_sync,       EXC_FROM_LOWER_A64 + EXC_SYNC
GUEST_HANDLER vcpu_guest_irq,        EXC_FROM_LOWER_A64 + EXC_IRQ
HANDLER vcpu_invalid_fiq_lower64,    invalid_exception, EXC_FROM_LOWER_A64 + EXC_FIQ
HANDLER vcpu_invalid_serror_lower64, invalid_exception, EXC_FROM_LOWER_A64 + EXC_SERROR
HANDLER vcpu_invalid_sync_lower32,   invalid_exception, EXC_FROM_LOWER_A32 + EXC_SYNC
HANDLER vcpu_invalid_irq_lower32,    invalid_exception, EXC_FROM_LOWER_A32 + EXC_IRQ
HANDLER vcpu_invalid_fiq_lower32,    invalid_exception, EXC_FROM_LOWER_A32 + EXC_FIQ
HANDLER vcpu_invalid_serror_lower32, invalid_exception, EXC_FROM_LOWER_A32 + EXC_SERROR
