// Entry at EL2 (or EL3, dropped to EL2), per-CPU early set-up, secondary entry.
#include "el2_defs.h"

    .section .text.boot, "ax"
    .global _start
// The arm64 Image header (Linux's Documentation/arch/arm64/booting.rst).
// The Pi's firmware loads an image that carries it at 0x80000 (one without
// it at 0x200000, unless config.txt says kernel_address=0x80000); U-Boot's
// booti and QEMU's -kernel place it by text_offset. Every loader enters at
// the first byte: the branch over the header. The values come from
// boot/link.ld.
_start:
    b       entry                       // code0
    .long   0                           // code1
    .quad   __image_text_offset         // text_offset: LOAD_ADDR above a 2 MiB aligned base
    .quad   __image_size                // image_size: everything the firmware uses from LOAD_ADDR, NOLOAD sections too
    .quad   IMAGE_FLAGS
    .quad   0, 0, 0                     // res2, res3, res4
    .ascii  "ARM\x64"                   // magic
    .long   0                           // res5: no PE/COFF header
// Right after the header: what says an arm64 Image is a build of this
// firmware, for a chainload (port/core/chainload.c): Linux's Image carries
// the same header with the same text_offset as QEMU virt's build.
    .ascii  "EL2 MicroPython\0"

entry:
    mov     x21, x0                     // the device tree a Linux-style loader passes (0 if none)
    mrs     x19, CurrentEL
    ubfx    x19, x19, #CURRENTEL_EL_SHIFT, #2
    cmp     x19, #3
    b.eq    enter_el2_from_el3
    cmp     x19, #2
    b.eq    boot_cpu_el2
    // EL1: the machine was started without virtualization; say so and halt.
    ldr     x0, =__stacks_start + STACK_SIZE
    mov     sp, x0
    mov     x0, x19
    bl      boot_wrong_el               // does not return

enter_el2_from_el3:
    ldr     x0, =SCR_EL3_BOOT
    msr     scr_el3, x0
    mov     x0, #SPSR_EL2H_MASKED
    msr     spsr_el3, x0
    adr     x0, boot_cpu_el2
    msr     elr_el3, x0
    eret

boot_cpu_el2:
    ldr     x0, =__stacks_start + STACK_SIZE
    mov     sp, x0
    bl      cpu_el2_init
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:  mov     x0, x21
    bl      port_main                   // port_main(device tree): does not return
    b       halt

// Secondary CPUs enter here at EL2 (PSCI CPU_ON or the spin table). The
// logical CPU id is MPIDR_EL1.Aff0 on both boards.
    .global secondary_entry
secondary_entry:
    mrs     x19, mpidr_el1
    and     x19, x19, #MPIDR_EL1_AFF0_MASK
    ldr     x1, =STACK_SIZE
    add     x2, x19, #1
    ldr     x0, =__stacks_start
    madd    x0, x1, x2, x0              // top of this CPU's stack
    mov     sp, x0
    bl      cpu_el2_init
    mov     x0, x19
    bl      secondary_main              // does not return
    b       halt

// Per-CPU EL2 state every CPU starts from: traps, routing, vectors, and the
// identity-mapped MMU with caches on. Uses x0 and x1 only.
    .global cpu_el2_init
cpu_el2_init:
    ldr     x0, =CPTR_EL2_BOOT          // FP/SIMD usable at EL2
    msr     cptr_el2, x0
    ldr     x0, =HCR_EL2_BOOT           // physical IRQ/FIQ/SError taken at EL2
    msr     hcr_el2, x0
    mrs     x0, mdcr_el2                // guests' debug and PMU accesses trap
    ldr     x1, =MDCR_EL2_GUEST_TRAPS
    orr     x0, x0, x1
    msr     mdcr_el2, x0
    ldr     x0, =MAIR_EL2_BOOT
    msr     mair_el2, x0
    ldr     x0, =TCR_EL2_BOOT
    msr     tcr_el2, x0
    ldr     x0, =mmu_l1_table
    msr     ttbr0_el2, x0
    isb
    tlbi    alle2
    dsb     nsh
    ic      iallu
    dsb     nsh
    isb
    ldr     x0, =SCTLR_EL2_BOOT         // MMU and caches on
    msr     sctlr_el2, x0
    isb
    mov     x0, #CNTHCTL_EL2_BOOT
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr
    msr     cnthp_ctl_el2, xzr
    ldr     x0, =host_exception_vectors
    msr     vbar_el2, x0
    isb
    ret

    .global halt
halt:
    msr     daifset, #0xf
1:  wfe
    b       1b
