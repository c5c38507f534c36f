/* The test guest's entry points (booting.rst's primary entry, PSCI CPU_ON's
   secondary entry) and its EL1 exception vectors. */
#include "arm.h"

/* ---- The Linux arm64 Image header: the first 64 bytes of the .bin. ---- */
    .section .text.head, "ax"
    .global _start
_start:
    b       primary_entry               // code0
    .long   0                           // code1
    .quad   TEXT_OFFSET                 // text_offset
    .quad   _image_size                 // image_size: _start to the end of .bss (link.ld)
    .quad   IMAGE_FLAGS                 // flags (arm.h)
    .quad   0, 0, 0                     // res2, res3, res4
    .long   IMAGE_MAGIC                 // magic, "ARM\x64"
    .long   0                           // res5 (no PE/COFF header)

    .text

/* booting.rst: x0 = the device tree's physical address, x1-x3 = 0, MMU off,
   interrupts masked, EL1h (or EL2). main checks all that; the registers are
   kept in x19-x22 across clearing .bss, which holds the stacks. */
primary_entry:
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    adrp    x9, __bss_start
    add     x9, x9, :lo12:__bss_start
    adrp    x10, __bss_end
    add     x10, x10, :lo12:__bss_end
1:  cmp     x9, x10
    b.hs    2f
    str     xzr, [x9], #8
    b       1b
2:  adrp    x9, primary_stack
    add     x9, x9, :lo12:primary_stack
    add     sp, x9, #PRIMARY_STACK_SIZE
    mov     x0, x19
    mov     x1, x20
    mov     x2, x21
    mov     x3, x22
    bl      testguest_main
    b       park

/* PSCI CPU_ON's entry: x0 = the context id the primary gave, its cpus[]
   index. MMU off, at EL1 like the caller. Each CPU has its own stack in .bss. */
    .global secondary_entry
secondary_entry:
    cmp     x0, #MAX_CPUS
    b.hs    bad_context
    adrp    x9, secondary_stacks
    add     x9, x9, :lo12:secondary_stacks
    add     x10, x0, #1
    mov     x11, #SECONDARY_STACK_SIZE
    madd    x9, x10, x11, x9            // the top of stack x0
    mov     sp, x9
    adrp    x9, exception_vectors
    add     x9, x9, :lo12:exception_vectors
    msr     vbar_el1, x9
    isb
    bl      secondary_main              // does not return
    b       park
bad_context:                            // no stack to run C on: tell the primary
    adrp    x9, secondary_bad_context
    add     x9, x9, :lo12:secondary_bad_context
    orr     x0, x0, #(1 << 63)          // non-zero even for a context id of 0
    str     x0, [x9]
    dsb     sy
    b       park

    .global park
park:
    msr     daifset, #0xf
1:  wfi
    b       1b

/* ---- EL1 exception vectors: 16 entries of 0x80 bytes, 2 KiB aligned. ---- */
/* Each entry saves x0/x1, stamps the frame with the virtual counter (the
   interrupt latency figure of mode=vtimer ends here, 3 instructions in),
   puts its own index in x0 and goes to the common code, which saves the
   rest and calls exception_handler(index, frame). */
.macro vector_entry index
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mrs     x1, cntvct_el0
    str     x1, [sp, #FRAME_STAMP]
    mov     x0, #\index
    b       exception_common
.endm

    .balign 0x800
    .global exception_vectors
exception_vectors:
    vector_entry 0      // current EL, SP_EL0: synchronous
    vector_entry 1      //                     IRQ
    vector_entry 2      //                     FIQ
    vector_entry 3      //                     SError
    vector_entry 4      // current EL, SP_EL1: synchronous (svc, brk, aborts)
    vector_entry 5      //                     IRQ
    vector_entry 6      //                     FIQ
    vector_entry 7      //                     SError
    vector_entry 8      // lower EL, AArch64:  synchronous
    vector_entry 9      //                     IRQ
    vector_entry 10     //                     FIQ
    vector_entry 11     //                     SError
    vector_entry 12     // lower EL, AArch32:  synchronous
    vector_entry 13     //                     IRQ
    vector_entry 14     //                     FIQ
    vector_entry 15     //                     SError

exception_common:
    stp     x2, x3, [sp, #16 * 1]
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    stp     x10, x11, [sp, #16 * 5]
    stp     x12, x13, [sp, #16 * 6]
    stp     x14, x15, [sp, #16 * 7]
    stp     x16, x17, [sp, #16 * 8]
    stp     x18, x19, [sp, #16 * 9]
    stp     x20, x21, [sp, #16 * 10]
    stp     x22, x23, [sp, #16 * 11]
    stp     x24, x25, [sp, #16 * 12]
    stp     x26, x27, [sp, #16 * 13]
    stp     x28, x29, [sp, #16 * 14]
    mrs     x9, elr_el1
    mrs     x10, spsr_el1
    stp     x30, x9, [sp, #16 * 15]     // x30 and ELR_EL1 (FRAME_ELR)
    str     x10, [sp, #FRAME_SPSR]
    mov     x1, sp
    bl      exception_handler           // may change the frame's ELR
    ldr     x9, [sp, #FRAME_ELR]
    ldr     x10, [sp, #FRAME_SPSR]
    msr     elr_el1, x9
    msr     spsr_el1, x10
    ldp     x0, x1, [sp, #16 * 0]
    ldp     x2, x3, [sp, #16 * 1]
    ldp     x4, x5, [sp, #16 * 2]
    ldp     x6, x7, [sp, #16 * 3]
    ldp     x8, x9, [sp, #16 * 4]
    ldp     x10, x11, [sp, #16 * 5]
    ldp     x12, x13, [sp, #16 * 6]
    ldp     x14, x15, [sp, #16 * 7]
    ldp     x16, x17, [sp, #16 * 8]
    ldp     x18, x19, [sp, #16 * 9]
    ldp     x20, x21, [sp, #16 * 10]
    ldp     x22, x23, [sp, #16 * 11]
    ldp     x24, x25, [sp, #16 * 12]
    ldp     x26, x27, [sp, #16 * 13]
    ldp     x28, x29, [sp, #16 * 14]
    ldr     x30, [sp, #16 * 15]
    add     sp, sp, #FRAME_SIZE
    eret

/* ---- Stacks and the secondaries' report, in .bss (cleared above). ---- */
    .bss
    .balign 16
primary_stack:
    .space  PRIMARY_STACK_SIZE
secondary_stacks:
    .space  MAX_CPUS * SECONDARY_STACK_SIZE
    .balign 8
    .global secondary_bad_context
secondary_bad_context:
    .quad   0
