// Garbage collection roots and pacing (gccollect.c).
#ifndef PORT_GCCOLLECT_H
#define PORT_GCCOLLECT_H

// After mp_init(): pace collections by the live heap from now on.
void gc_pacing_start(void);

// Where a run of same-sized allocations left off, for gc_alloc_after().
typedef struct _gc_alloc_hint_t {
    size_t atb_index;       // the allocation table byte after the last one
    size_t collections;     // gc_collect()s so far when it was taken
} gc_alloc_hint_t;

// m_malloc(n_bytes) for an object allocated over and over (a vCPU exit
// record): the search for room starts where the previous one ended rather
// than at the first free block, unless a collection came in between.
void *gc_alloc_after(size_t n_bytes, gc_alloc_hint_t *hint);

#endif
