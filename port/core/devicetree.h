// The device tree the boot loader hands over (a flattened device tree, DTB):
// what RAM exists and how many CPUs the machine has. Read once at boot,
// before the heap is set up; the blob may lie anywhere the boot map covers.
#ifndef CORE_DEVICETREE_H
#define CORE_DEVICETREE_H

#include <stdbool.h>
#include <stdint.h>

#define DT_MAX_RAM_RANGES   8

typedef struct _mem_range_t {
    uint64_t base, size;
} mem_range_t;

typedef struct _dt_facts_t {
    mem_range_t ram[DT_MAX_RAM_RANGES];     // the reg entries of the /memory nodes
    unsigned int num_ram;
    unsigned int num_cpus;                  // nodes under /cpus with device_type "cpu"
} dt_facts_t;

// The blob's header is sane (magic, version, size) and the whole blob can be read.
bool dt_valid(uint64_t addr);
// Facts of a valid blob; false if its structure is malformed.
bool dt_read_facts(uint64_t addr, dt_facts_t *out);

#endif
