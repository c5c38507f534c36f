// Garbage collection roots and pacing (gccollect.c).
#ifndef PORT_GCCOLLECT_H
#define PORT_GCCOLLECT_H

// After mp_init(): pace collections by the live heap from now on.
void gc_pacing_start(void);

#endif
