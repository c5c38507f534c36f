// A reader for the few facts the firmware takes from the boot loader's
// device tree (DTB v16/v17, big-endian): /memory reg and the /cpus nodes.
// Every offset is checked against the blob's size, so a corrupt blob is
// refused rather than followed.
#include <string.h>

#include "cpu.h"
#include "devicetree.h"
#include "exception.h"

#define FDT_MAGIC       0xd00dfeedu
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9
#define FDT_MAX_SIZE    (2u << 20)      // a board's tree is tens of KiB

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

// A 32-bit big-endian word at `addr` that may not be mapped: false if it faulted.
static bool probe_be32(uint64_t addr, uint32_t *out) {
    cpu_local_t *cpu = this_cpu();
    guard_begin(cpu);
    uint32_t v = guarded_ld32(addr);
    if (guard_end(cpu)) {
        return false;
    }
    *out = __builtin_bswap32(v);
    return true;
}

bool dt_valid(uint64_t addr) {
    uint32_t magic, size, version, last;
    if (addr == 0 || (addr & 7) || !probe_be32(addr, &magic) || magic != FDT_MAGIC
        || !probe_be32(addr + 4, &size) || !probe_be32(addr + 20, &version) || !probe_be32(addr + 24, &last)) {
        return false;
    }
    return size >= 40 && size <= FDT_MAX_SIZE && version >= 16 && last <= 17
           && probe_be32(addr + ((size - 4) & ~3u), &magic);   // the last word is mapped too
}

typedef struct {
    const uint8_t *blob;
    uint32_t size, strings, strings_size;
} dt_t;

static const char *dt_string(const dt_t *dt, uint32_t off) {
    if (off >= dt->strings_size) {
        return "";
    }
    const char *s = (const char *)dt->blob + dt->strings + off;
    return memchr(s, 0, dt->strings_size - off) ? s : "";
}

static bool name_is(const char *name, const char *base) {
    size_t n = strlen(base);
    return strncmp(name, base, n) == 0 && (name[n] == 0 || name[n] == '@');
}

static uint64_t cells(const uint8_t *p, uint32_t n) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; ++i) {
        v = (v << 32) | be32(p + 4 * i);
    }
    return v;
}

bool dt_read_facts(uint64_t addr, dt_facts_t *out) {
    memset(out, 0, sizeof(*out));
    dt_t dt = { (const uint8_t *)(uintptr_t)addr };
    dt.size = be32(dt.blob + 4);
    uint32_t off = be32(dt.blob + 8);
    uint32_t struct_end = off + be32(dt.blob + 36);
    dt.strings = be32(dt.blob + 12);
    dt.strings_size = be32(dt.blob + 32);
    if (off >= dt.size || struct_end > dt.size || struct_end < off
        || dt.strings > dt.size || dt.strings_size > dt.size - dt.strings) {
        return false;
    }
    uint32_t addr_cells = 2, size_cells = 1;    // the root's, for /memory reg
    // Depth 1 is the root node, 2 its children (/memory, /cpus), 3 theirs.
    enum { OTHER, MEMORY, CPUS, CPU } at[4] = { OTHER, OTHER, OTHER, OTHER };
    int depth = 0;
    bool cpu_node_is_cpu = false;
    while (off + 4 <= struct_end) {
        uint32_t token = be32(dt.blob + off);
        off += 4;
        if (token == FDT_BEGIN_NODE) {
            const char *name = (const char *)dt.blob + off;
            const char *nul = memchr(name, 0, struct_end - off);
            if (nul == NULL) {
                return false;
            }
            off = (off + (nul - name) + 1 + 3) & ~3u;
            depth++;
            if (depth <= 3) {
                at[depth] = depth == 2 && name_is(name, "memory") ? MEMORY
                            : depth == 2 && name_is(name, "cpus") ? CPUS
                            : depth == 3 && at[2] == CPUS ? CPU : OTHER;
                cpu_node_is_cpu = false;
            }
        } else if (token == FDT_END_NODE) {
            if (depth == 3 && at[3] == CPU && cpu_node_is_cpu) {
                out->num_cpus++;
            }
            if (--depth < 0) {
                return false;
            }
        } else if (token == FDT_PROP) {
            if (off + 8 > struct_end) {
                return false;
            }
            uint32_t len = be32(dt.blob + off), nameoff = be32(dt.blob + off + 4);
            const uint8_t *value = dt.blob + off + 8;
            if (len > struct_end - off - 8) {
                return false;
            }
            off = (off + 8 + len + 3) & ~3u;
            const char *pname = dt_string(&dt, nameoff);
            if (depth == 1 && len == 4 && strcmp(pname, "#address-cells") == 0) {
                addr_cells = be32(value);
            } else if (depth == 1 && len == 4 && strcmp(pname, "#size-cells") == 0) {
                size_cells = be32(value);
            } else if (depth == 2 && at[2] == MEMORY && strcmp(pname, "reg") == 0) {
                if (addr_cells < 1 || addr_cells > 2 || size_cells < 1 || size_cells > 2) {
                    return false;
                }
                uint32_t entry = 4 * (addr_cells + size_cells);
                for (uint32_t i = 0; i + entry <= len && out->num_ram < DT_MAX_RAM_RANGES; i += entry) {
                    mem_range_t r = { cells(value + i, addr_cells), cells(value + i + 4 * addr_cells, size_cells) };
                    if (r.size) {
                        out->ram[out->num_ram++] = r;
                    }
                }
            } else if (depth == 3 && at[3] == CPU && strcmp(pname, "device_type") == 0
                       && len == 4 && memcmp(value, "cpu", 4) == 0) {
                cpu_node_is_cpu = true;
            }
        } else if (token == FDT_END) {
            return depth == 0;
        } else if (token != FDT_NOP) {
            return false;
        }
    }
    return false;
}
