// Garbage collection: the roots (registers, CPU 0's stack, soft timers, the
// objects behind the per-CPU IRQ_HANDLER slots) and pacing by the live heap.
//
// Collecting only when the 32 MiB heap is full lets garbage pile up, and
// MicroPython's multi-block allocations then rescan every block used since
// the last collection (a vCPU exit record costs ten times more); collecting
// every few KiB makes a program that builds megabytes of live data quadratic.
// So: collect after allocating as much as is live (at least GC_THRESHOLD_MIN),
// as Go's collector does by default (GOGC=100): each collection marks the live
// heap, so the heap may at most double between two. (Half as much as is live
// cost a program building a 100,000-string list 600 instructions an item
// more.) A gc.threshold() call by the user turns this off.
#include "py/gc.h"
#include "py/misc.h"
#include "py/mpstate.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/softtimer.h"
#include "core/cpu.h"
#include "gccollect.h"

#define GC_THRESHOLD_MIN (16 * 1024)
static size_t gc_auto_threshold;       // in blocks; what we set last
static size_t gc_collections;          // gc_collect()s since boot

// Bytes in use: the allocation table's non-free entries (2 bits per block),
// up to the highest block in use, as far as the sweep itself goes.
static size_t gc_used_bytes(void) {
    const mp_state_mem_area_t *area = &MP_STATE_MEM(area);
    const uint64_t *w = (const uint64_t *)area->gc_alloc_table_start;
    size_t words = MIN(area->gc_last_used_block / 32 + 1, area->gc_alloc_table_byte_len / 8);
    size_t used = 0;
    for (size_t i = 0; i < words; ++i) {
        used += __builtin_popcountll((w[i] | (w[i] >> 1)) & 0x5555555555555555ull);
    }
    return used * MICROPY_BYTES_PER_GC_BLOCK;
}

static void gc_pace(void) {
    if (MP_STATE_MEM(gc_alloc_threshold) == gc_auto_threshold) {
        size_t bytes = MAX(GC_THRESHOLD_MIN, gc_used_bytes());
        gc_auto_threshold = bytes / MICROPY_BYTES_PER_GC_BLOCK;
        MP_STATE_MEM(gc_alloc_threshold) = gc_auto_threshold;
    }
}

void gc_pacing_start(void) {
    gc_auto_threshold = MP_STATE_MEM(gc_alloc_threshold);
    gc_pace();
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    soft_timer_gc_mark_all();
    for (unsigned int i = 0; i < MAX_CPUS; ++i) {
        gc_collect_root(&cpu_local[i].irq_handler_obj, 1);
    }
    gc_collect_end();
    ++gc_collections;
    gc_pace();
}

// MicroPython looks for room for a multi-block object from the first free
// block on, which after a collection is the start of the heap: a 300-byte
// exit record per vCPU exit scanned every block of the live heap below it,
// and every record allocated since the collection (3,000-4,000 instructions
// an exit, growing with whatever the firmware keeps live). MicroPython keeps
// its start index only as a hint (no free block lies below it); moving it up
// for one allocation just skips holes the others still see.
void *gc_alloc_after(size_t n_bytes, gc_alloc_hint_t *hint) {
    mp_state_mem_area_t *area = &MP_STATE_MEM(area);
    size_t collections = gc_collections;
    size_t start = area->gc_last_free_atb_index;
    bool hinted = hint->collections == collections && hint->atb_index > start;
    if (hinted) {
        area->gc_last_free_atb_index = hint->atb_index;
    }
    void *p = m_malloc_maybe(n_bytes);
    if (gc_collections == collections) {
        area->gc_last_free_atb_index = start;     // a collection would have reset it itself
    }
    if (p == NULL) {
        p = m_malloc(n_bytes);                  // from the first free block, or MemoryError
    }
    size_t end_block = ((uint8_t *)p - area->gc_pool_start + n_bytes + MICROPY_BYTES_PER_GC_BLOCK - 1)
        / MICROPY_BYTES_PER_GC_BLOCK;
    hint->atb_index = end_block / 4;            // 4 blocks an allocation table byte; a free one there is seen
    hint->collections = gc_collections;
    return p;
}
