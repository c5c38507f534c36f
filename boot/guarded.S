// Loads and stores that may fault. The EL2 synchronous handler recognises a
// fault whose ELR lies in .guarded (between __guarded_start and
// __guarded_end), records ESR/FAR in this CPU's guard and resumes at the next
// instruction, so C sees the fault as data instead of a crash.

    .section .guarded, "ax"
    .balign 8
    .global guarded_ld8, guarded_ld16, guarded_ld32, guarded_ld64
    .global guarded_st8, guarded_st16, guarded_st32, guarded_st64
guarded_ld8:    ldrb    w0, [x0]
                ret
guarded_ld16:   ldrh    w0, [x0]
                ret
guarded_ld32:   ldr     w0, [x0]
                ret
guarded_ld64:   ldr     x0, [x0]
                ret
guarded_st8:    strb    w1, [x0]
                ret
guarded_st16:   strh    w1, [x0]
                ret
guarded_st32:   str     w1, [x0]
                ret
guarded_st64:   str     x1, [x0]
                ret
