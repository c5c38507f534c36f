/* A minimal reader of a flattened device tree (the Devicetree
   Specification, chapter 5): the header, a walk of the structure block, and
   property names from the strings block. Node handles are offsets into the
   structure block. Every read is checked against the block's size, so a
   broken tree gives "not found", never a wild read. */
#include "testguest.h"

#define FDT_MAGIC       0xd00dfeed
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9

#define MAX_DEPTH       16

static const uint8_t *blob;
static uint32_t total_size;
static const uint8_t *structs, *strings;
static uint32_t structs_size, strings_size;

/* Big-endian, one byte at a time (Device memory: no unaligned loads). */
static uint32_t be32(const void *p)
{
    const volatile uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

const char *fdt_init(uint64_t address)
{
    blob = (const uint8_t *)address;
    if (address == 0 || address & 7) {
        return "the address is 0 or not 8-byte aligned";
    }
    if (be32(blob) != FDT_MAGIC) {
        return "no FDT magic 0xd00dfeed";
    }
    total_size = be32(blob + 4);
    uint32_t off_structs = be32(blob + 8), off_strings = be32(blob + 12);
    uint32_t version = be32(blob + 20);
    strings_size = be32(blob + 32);
    structs_size = be32(blob + 36);
    if (version < 17) {
        return "FDT version below 17";
    }
    if ((uint64_t)off_structs + structs_size > total_size || (uint64_t)off_strings + strings_size > total_size
        || off_structs & 3) {
        return "FDT blocks lie outside totalsize";
    }
    structs = blob + off_structs;
    strings = blob + off_strings;
    return NULL;
}

uint32_t fdt_total_size(void)
{
    return total_size;
}

static uint32_t token_at(int off)
{
    if (off < 0 || (uint32_t)off + 4 > structs_size) {
        return FDT_END;
    }
    return be32(structs + off);
}

/* The offset just past a NUL-terminated string at off, padded to 4 bytes. */
static int skip_string(int off)
{
    while ((uint32_t)off < structs_size && structs[off]) {
        off++;
    }
    return (off + 1 + 3) & ~3;
}

/* The offset just past the token at off (BEGIN_NODE's name, PROP's value). */
static int next_token(int off)
{
    switch (token_at(off)) {
    case FDT_BEGIN_NODE:
        return skip_string(off + 4);
    case FDT_PROP: {
        uint32_t len = token_at(off + 4);
        if (len > structs_size) {
            return -1;
        }
        return (off + 12 + (int)len + 3) & ~3;
    }
    case FDT_END_NODE:
    case FDT_NOP:
        return off + 4;
    default:
        return -1;
    }
}

/* The next BEGIN_NODE after node, with *depth moved by the nodes entered
   and left on the way (libfdt's fdt_next_node). -1 at the end. */
static int next_node(int node, int *depth)
{
    int off = next_token(node);
    while (off >= 0) {
        switch (token_at(off)) {
        case FDT_BEGIN_NODE:
            ++*depth;
            return off;
        case FDT_END_NODE:
            if (--*depth < 0) {
                return -1;
            }
            break;
        case FDT_PROP:
        case FDT_NOP:
            break;
        default:
            return -1;
        }
        off = next_token(off);
    }
    return -1;
}

int fdt_root(void)
{
    int off = 0;
    while (token_at(off) == FDT_NOP) {
        off += 4;
    }
    return token_at(off) == FDT_BEGIN_NODE ? off : -1;
}

const char *fdt_name(int node)
{
    return (const char *)structs + node + 4;
}

int fdt_first_child(int node)
{
    int depth = 0;
    int child = next_node(node, &depth);
    return child >= 0 && depth == 1 ? child : -1;
}

int fdt_next_sibling(int node)
{
    int depth = 1;                      /* 1: inside the parent; 0 would end at node's own END_NODE */
    do {
        node = next_node(node, &depth);
    } while (node >= 0 && depth > 1);
    return node >= 0 && depth == 1 ? node : -1;
}

int fdt_parent(int node)
{
    int stack[MAX_DEPTH];
    int depth = 0, off = fdt_root();
    stack[0] = off;
    while (off >= 0 && off != node) {
        off = next_node(off, &depth);
        if (off < 0 || depth < 0 || depth >= MAX_DEPTH) {
            return -1;
        }
        stack[depth] = off;
    }
    return off == node && depth > 0 ? stack[depth - 1] : -1;
}

/* A path component matches a node name with or without its unit address. */
static bool name_matches(const char *name, const char *component, size_t len)
{
    return strncmp(name, component, len) == 0 && (name[len] == '\0' || name[len] == '@');
}

int fdt_path(const char *path)
{
    int node = fdt_root();
    while (node >= 0 && *path) {
        while (*path == '/') {
            path++;
        }
        if (!*path) {
            break;
        }
        size_t len = 0;
        while (path[len] && path[len] != '/') {
            len++;
        }
        int child = fdt_first_child(node);
        while (child >= 0 && !name_matches(fdt_name(child), path, len)) {
            child = fdt_next_sibling(child);
        }
        node = child;
        path += len;
    }
    return node;
}

const void *fdt_prop(int node, const char *name, int *len)
{
    if (token_at(node) != FDT_BEGIN_NODE) {
        return NULL;
    }
    for (int off = next_token(node); off >= 0; off = next_token(off)) {
        uint32_t token = token_at(off);
        if (token == FDT_NOP) {
            continue;
        }
        if (token != FDT_PROP) {
            return NULL;                /* properties come before the subnodes */
        }
        uint32_t plen = token_at(off + 4), nameoff = token_at(off + 8);
        if (nameoff < strings_size && strcmp((const char *)strings + nameoff, name) == 0) {
            if ((uint64_t)off + 12 + plen > structs_size) {
                return NULL;
            }
            if (len) {
                *len = (int)plen;
            }
            return structs + off + 12;
        }
    }
    return NULL;
}

const char *fdt_prop_string(int node, const char *name)
{
    int len;
    const char *s = fdt_prop(node, name, &len);
    return s && len > 0 && s[len - 1] == '\0' ? s : NULL;
}

uint32_t fdt_prop_u32(int node, const char *name, uint32_t dflt)
{
    int len;
    const void *p = fdt_prop(node, name, &len);
    return p && len == 4 ? be32(p) : dflt;
}

/* Does the string list (NUL-separated) hold `want`? */
static bool list_has(const char *list, int len, const char *want)
{
    for (int i = 0; i < len; i += (int)strlen(list + i) + 1) {
        if (strcmp(list + i, want) == 0) {
            return true;
        }
    }
    return false;
}

int fdt_find_compatible(int after, const char *compatible)
{
    int depth = 1 << 20;                /* never below 0: walk on to the end of the tree */
    int node = after >= 0 ? next_node(after, &depth) : fdt_root();
    for (; node >= 0; node = next_node(node, &depth)) {
        int len;
        const char *list = fdt_prop(node, "compatible", &len);
        if (list && len > 0 && list[len - 1] == '\0' && list_has(list, len, compatible)) {
            return node;
        }
    }
    return -1;
}

uint64_t fdt_cells(const void *p, uint32_t cells)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (uint32_t i = 0; i < cells; i++) {
        v = v << 32 | be32(b + 4 * i);
    }
    return v;
}

/* Entry `index` of a node's reg, sized by its parent's #address-cells and
   #size-cells (defaults 2 and 1, the specification's). */
bool fdt_reg(int node, int index, uint64_t *base, uint64_t *size)
{
    int parent = fdt_parent(node);
    if (parent < 0) {
        return false;
    }
    uint32_t ac = fdt_prop_u32(parent, "#address-cells", 2), sc = fdt_prop_u32(parent, "#size-cells", 1);
    if (ac < 1 || ac > 2 || sc > 2) {
        return false;
    }
    int len;
    const uint8_t *reg = fdt_prop(node, "reg", &len);
    int entry = 4 * (int)(ac + sc);
    if (!reg || index < 0 || len < entry * (index + 1)) {
        return false;
    }
    reg += entry * index;
    *base = fdt_cells(reg, ac);
    *size = fdt_cells(reg + 4 * ac, sc);
    return true;
}
