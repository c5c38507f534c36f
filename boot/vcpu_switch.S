// Entering a guest and coming back. vcpu_enter() saves the host's
// callee-saved state in the vCPU context and ERETs from the guest's trap
// frame, as the reference's run_guest does; a VM exit that must reach the
// host calls vcpu_exit_to_host(), which makes vcpu_enter() return.
#include "el2_defs.h"
#include "vcpu.h"

    .text
    .balign 16
    .global vcpu_enter
vcpu_enter:
    add     x9, x0, #VCPU_HOST
    stp     x19, x20, [x9, #0]
    stp     x21, x22, [x9, #16]
    stp     x23, x24, [x9, #32]
    stp     x25, x26, [x9, #48]
    stp     x27, x28, [x9, #64]
    stp     x29, x30, [x9, #80]
    mov     x10, sp
    mrs     x11, daif
    stp     x10, x11, [x9, #96]
    add     x9, x0, #VCPU_HOST_FP
    stp     d8, d9, [x9, #0]
    stp     d10, d11, [x9, #16]
    stp     d12, d13, [x9, #32]
    stp     d14, d15, [x9, #48]
    mrs     x10, fpcr
    mrs     x11, fpsr
    stp     x10, x11, [x9, #VCPU_HOST_FPCR]
    msr     daifset, #0xf
    add     x9, x0, #VCPU_GUEST_FP
    ldp     q0, q1, [x9, #0]
    ldp     q2, q3, [x9, #32]
    ldp     q4, q5, [x9, #64]
    ldp     q6, q7, [x9, #96]
    ldp     q8, q9, [x9, #128]
    ldp     q10, q11, [x9, #160]
    ldp     q12, q13, [x9, #192]
    ldp     q14, q15, [x9, #224]
    ldp     q16, q17, [x9, #256]
    ldp     q18, q19, [x9, #288]
    ldp     q20, q21, [x9, #320]
    ldp     q22, q23, [x9, #352]
    ldp     q24, q25, [x9, #384]
    ldp     q26, q27, [x9, #416]
    ldp     q28, q29, [x9, #448]
    ldp     q30, q31, [x9, #480]
    add     x9, x9, #VCPU_FP_FPCR
    ldp     x10, x11, [x9]
    msr     fpcr, x10
    msr     fpsr, x11
    // The guest's trap frame: x0..x30, SP_EL0, ELR_EL2, SPSR_EL2.
    ldp     x10, x11, [x0, #FRAME_ELR]
    msr     elr_el2, x10
    msr     spsr_el2, x11
    ldr     x10, [x0, #FRAME_SP_EL0]
    msr     sp_el0, x10
    ldp     x30, x1, [x0, #FRAME_X(30)]     // x1 is reloaded below
    ldp     x2, x3, [x0, #FRAME_X(2)]
    ldp     x4, x5, [x0, #FRAME_X(4)]
    ldp     x6, x7, [x0, #FRAME_X(6)]
    ldp     x8, x9, [x0, #FRAME_X(8)]
    ldp     x10, x11, [x0, #FRAME_X(10)]
    ldp     x12, x13, [x0, #FRAME_X(12)]
    ldp     x14, x15, [x0, #FRAME_X(14)]
    ldp     x16, x17, [x0, #FRAME_X(16)]
    ldp     x18, x19, [x0, #FRAME_X(18)]
    ldp     x20, x21, [x0, #FRAME_X(20)]
    ldp     x22, x23, [x0, #FRAME_X(22)]
    ldp     x24, x25, [x0, #FRAME_X(24)]
    ldp     x26, x27, [x0, #FRAME_X(26)]
    ldp     x28, x29, [x0, #FRAME_X(28)]
    ldp     x0, x1, [x0, #FRAME_X(0)]
    eret

// x0 = the vCPU context, with the guest's frame already stored in it.
    .global vcpu_exit_to_host
vcpu_exit_to_host:
    add     x9, x0, #VCPU_GUEST_FP
    stp     q0, q1, [x9, #0]
    stp     q2, q3, [x9, #32]
    stp     q4, q5, [x9, #64]
    stp     q6, q7, [x9, #96]
    stp     q8, q9, [x9, #128]
    stp     q10, q11, [x9, #160]
    stp     q12, q13, [x9, #192]
    stp     q14, q15, [x9, #224]
    stp     q16, q17, [x9, #256]
    stp     q18, q19, [x9, #288]
    stp     q20, q21, [x9, #320]
    stp     q22, q23, [x9, #352]
    stp     q24, q25, [x9, #384]
    stp     q26, q27, [x9, #416]
    stp     q28, q29, [x9, #448]
    stp     q30, q31, [x9, #480]
    mrs     x10, fpcr
    mrs     x11, fpsr
    add     x9, x9, #VCPU_FP_FPCR
    stp     x10, x11, [x9]
    add     x9, x0, #VCPU_HOST_FP
    ldp     d8, d9, [x9, #0]
    ldp     d10, d11, [x9, #16]
    ldp     d12, d13, [x9, #32]
    ldp     d14, d15, [x9, #48]
    ldp     x10, x11, [x9, #VCPU_HOST_FPCR]     // the host's FP modes, whatever the guest set
    msr     fpcr, x10
    msr     fpsr, x11
    add     x9, x0, #VCPU_HOST
    ldp     x10, x11, [x9, #96]
    mov     sp, x10                         // drops the exception frame
    ldp     x19, x20, [x9, #0]
    ldp     x21, x22, [x9, #16]
    ldp     x23, x24, [x9, #32]
    ldp     x25, x26, [x9, #48]
    ldp     x27, x28, [x9, #64]
    ldp     x29, x30, [x9, #80]
    msr     daif, x11
    ret
