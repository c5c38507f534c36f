// The last steps of a chainload (port/core/chainload.c): code that runs
// while the old firmware's image is overwritten, so it is never run where
// it is linked. chainload.c copies everything between chainload_blob_start
// and chainload_blob_end to a page outside both images (after the staged
// image) and calls it there; hence position-independent, registers only,
// no stack, no literal pool.
//
// With SCTLR_EL2.M clear, data accesses are Device-nGnRnE: every load and
// store here is aligned, and goes straight to memory (what the other CPUs,
// also with their MMUs off, see).
#include "el2_defs.h"

#define SCTLR_OFF_BITS (SCTLR_EL2_M | SCTLR_EL2_C | SCTLR_EL2_I)

    .section .text.chainload, "ax"
    .balign 16
    .global chainload_blob_start, chainload_blob_end, chainload_park_spin, chainload_go

chainload_blob_start:

// A secondary CPU of a spin-table board parks here, as the boot loader's
// stub leaves it: MMU and caches off, waiting for an entry address in its
// slot. x0 = its spin-table slot (already zero, cleaned to PoC), x1 = its
// flag in this page. Does not return.
chainload_park_spin:
    msr     daifset, #0xf
    mrs     x2, sctlr_el2
    mov     x3, #SCTLR_OFF_BITS
    bic     x2, x2, x3
    msr     sctlr_el2, x2
    isb
    mov     w2, #1
    str     w2, [x1]                    // "parked": CPU 0 reads it with its MMU off too
    dsb     sy
1:  wfe
    ldr     x2, [x0]
    cbz     x2, 1b
    br      x2                          // the new firmware's secondary entry, at EL2

// The boot CPU: x0 = destination (the load address), x1 = the staged image,
// x2 = its length (a multiple of 16), x3 = the parked CPUs' flags (u32
// each), x4 = the bit mask of flags to wait for, x5 = the device tree
// address the boot loader gave. Enters the new image as a boot loader
// does: MMU and caches off, x0 = device tree, x1..x3 = 0. Does not return.
chainload_go:
    msr     daifset, #0xf
    mrs     x6, sctlr_el2
    mov     x7, #SCTLR_OFF_BITS
    bic     x6, x6, x7
    msr     sctlr_el2, x6
    isb
    // The spin-table CPUs: each sets its flag once its MMU is off; until
    // then it may still run the old image's code. Bounded by the counter
    // (one second for them all: an emulator on a busy host may not run a
    // CPU for a good part of that): a CPU that never gets here is stuck
    // already, and the new firmware says so.
    mrs     x7, cntpct_el0
    mrs     x8, cntfrq_el0
    add     x7, x7, x8                  // the deadline
    mov     x6, #0                      // CPU number
2:  cbz     x4, 4f
    tbz     x4, #0, 3f
5:  ldr     w8, [x3, x6, lsl #2]
    cbnz    w8, 3f
    mrs     x8, cntpct_el0
    cmp     x8, x7
    b.lo    5b
3:  lsr     x4, x4, #1
    add     x6, x6, #1
    b       2b
4:  // Every cache line of the destination cleaned and invalidated: a dirty
    // line of the old firmware, written back later, would overwrite the new
    // image, and a clean one would be read by the new firmware once its
    // caches are on.
    mrs     x6, ctr_el0
    ubfx    x6, x6, #16, #4
    mov     x7, #4
    lsl     x7, x7, x6                  // DminLine in bytes
    sub     x8, x7, #1
    bic     x9, x0, x8
    add     x10, x0, x2
6:  dc      civac, x9
    add     x9, x9, x7
    cmp     x9, x10
    b.lo    6b
    dsb     sy
    mov     x9, x0
7:  ldp     x11, x12, [x1], #16
    stp     x11, x12, [x9], #16
    cmp     x9, x10
    b.lo    7b
    dsb     sy
    ic      ialluis
    dsb     sy
    isb
    mov     x9, x0
    mov     x0, x5
    mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    br      x9
    .balign 16
chainload_blob_end:
