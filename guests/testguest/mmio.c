/* MMIO of every width to the VM's test device: a 256-byte register file
   (a write of N bytes at offset O stores them, little endian; a read returns
   them). Each access is written in assembly so the exact instruction, its
   width, its sign extension and its register (x1..x30, xzr) are what the
   hypervisor's data abort decoding sees. Values have their top bit set, so a
   missing or wrong sign extension shows; registers are filled with the
   opposite of the expected upper bits before each load, so a 32-bit load
   that leaves a register's upper half alone shows too. */
#include "testguest.h"

uint8_t mmio_ram_page[TEST_DEVICE_SIZE] __attribute__((aligned(256)));

static bool compare(const char *what, const uint64_t *got, const uint64_t *expected, int n,
                    const char *const *names)
{
    bool ok = true;
    for (int i = 0; i < n; i++) {
        if (got[i] != expected[i]) {
            say("  %s: %s gave 0x%lx, expected 0x%lx", what, names[i], got[i], expected[i]);
            ok = false;
        }
    }
    return ok;
}

static void bytes(uint64_t dev)
{
    uint64_t got[5];
    __asm__ volatile(
        "mov    w5, #0x80\n"
        "strb   w5, [%[dev], #0x10]\n"
        "mov    w6, #0x7f\n"
        "strb   w6, [%[dev], #0x11]\n"
        "mov    x3, #-1\n"
        "ldrb   w3, [%[dev], #0x10]\n"
        "mov    x4, #-1\n"
        "ldrsb  w4, [%[dev], #0x10]\n"
        "mov    x9, #0\n"
        "ldrsb  x9, [%[dev], #0x10]\n"
        "mov    x7, #-1\n"
        "ldrsb  x7, [%[dev], #0x11]\n"
        "mov    x8, #-1\n"
        "ldrsb  w8, [%[dev], #0x11]\n"
        "str    x3, [%[out], #0]\n"
        "str    x4, [%[out], #8]\n"
        "str    x9, [%[out], #16]\n"
        "str    x7, [%[out], #24]\n"
        "str    x8, [%[out], #32]\n"
        : : [dev] "r"(dev), [out] "r"(got)
        : "x3", "x4", "x5", "x6", "x7", "x8", "x9", "memory");
    static const uint64_t expected[] = { 0x80, 0xffffff80, 0xffffffffffffff80, 0x7f, 0x7f };
    static const char *const names[] = { "ldrb w3", "ldrsb w4", "ldrsb x9", "ldrsb x7 (0x7f)", "ldrsb w8 (0x7f)" };
    check(compare("8-bit", got, expected, 5, names), "mmio 8-bit at 0x%lx: strb, ldrb, ldrsb to w and x", dev);
}

static void halves(uint64_t dev)
{
    uint64_t got[5];
    __asm__ volatile(
        "mov    w10, #0x8001\n"
        "strh   w10, [%[dev], #0x20]\n"
        "mov    w11, #0x7ffe\n"
        "strh   w11, [%[dev], #0x22]\n"
        "mov    x12, #-1\n"
        "ldrh   w12, [%[dev], #0x20]\n"
        "mov    x13, #-1\n"
        "ldrsh  w13, [%[dev], #0x20]\n"
        "mov    x14, #0\n"
        "ldrsh  x14, [%[dev], #0x20]\n"
        "mov    x15, #-1\n"
        "ldrsh  x15, [%[dev], #0x22]\n"
        "mov    x16, #-1\n"
        "ldr    w16, [%[dev], #0x20]\n"     /* both halves, little endian */
        "str    x12, [%[out], #0]\n"
        "str    x13, [%[out], #8]\n"
        "str    x14, [%[out], #16]\n"
        "str    x15, [%[out], #24]\n"
        "str    x16, [%[out], #32]\n"
        : : [dev] "r"(dev), [out] "r"(got)
        : "x10", "x11", "x12", "x13", "x14", "x15", "x16", "memory");
    static const uint64_t expected[] = { 0x8001, 0xffff8001, 0xffffffffffff8001, 0x7ffe, 0x7ffe8001 };
    static const char *const names[] = { "ldrh w12", "ldrsh w13", "ldrsh x14", "ldrsh x15 (0x7ffe)", "ldr w16" };
    check(compare("16-bit", got, expected, 5, names), "mmio 16-bit at 0x%lx: strh, ldrh, ldrsh to w and x", dev);
}

static void words(uint64_t dev)
{
    uint64_t got[5];
    __asm__ volatile(
        "movz   w17, #0x0001\n"
        "movk   w17, #0x8000, lsl #16\n"    /* 0x80000001 */
        "str    w17, [%[dev], #0x30]\n"
        "movz   w20, #0x1234\n"
        "movk   w20, #0x7fff, lsl #16\n"    /* 0x7fff1234 */
        "str    w20, [%[dev], #0x34]\n"
        "mov    x18, #-1\n"
        "ldr    w18, [%[dev], #0x30]\n"
        "mov    x19, #0\n"
        "ldrsw  x19, [%[dev], #0x30]\n"
        "mov    x21, #-1\n"
        "ldrsw  x21, [%[dev], #0x34]\n"
        "mov    x22, #0\n"
        "ldr    x22, [%[dev], #0x30]\n"     /* both words, little endian */
        "mov    x2, #-1\n"
        "ldrh   w2, [%[dev], #0x32]\n"      /* the upper half of the first word */
        "str    x18, [%[out], #0]\n"
        "str    x19, [%[out], #8]\n"
        "str    x21, [%[out], #16]\n"
        "str    x22, [%[out], #24]\n"
        "str    x2, [%[out], #32]\n"
        : : [dev] "r"(dev), [out] "r"(got)
        : "x2", "x17", "x18", "x19", "x20", "x21", "x22", "memory");
    static const uint64_t expected[] = { 0x80000001, 0xffffffff80000001, 0x7fff1234, 0x7fff123480000001, 0x8000 };
    static const char *const names[] = { "ldr w18", "ldrsw x19", "ldrsw x21 (0x7fff1234)", "ldr x22", "ldrh w2" };
    check(compare("32-bit", got, expected, 5, names), "mmio 32-bit at 0x%lx: str w, ldr w, ldrsw", dev);
}

static void doublewords(uint64_t dev)
{
    uint64_t got[5];
    __asm__ volatile(
        "movz   x23, #0xcdef\n"
        "movk   x23, #0x89ab, lsl #16\n"
        "movk   x23, #0x4567, lsl #32\n"
        "movk   x23, #0x8123, lsl #48\n"    /* 0x8123456789abcdef */
        "str    x23, [%[dev], #0x40]\n"
        "mov    x24, #0\n"
        "ldr    x24, [%[dev], #0x40]\n"
        "mov    x25, #0\n"
        "ldrsw  x25, [%[dev], #0x44]\n"
        "mov    x26, #-1\n"
        "ldrb   w26, [%[dev], #0x47]\n"
        "mov    x30, #0\n"
        "ldr    x30, [%[dev], #0x40]\n"
        "mov    x1, #-1\n"
        "ldrsh  x1, [%[dev], #0x40]\n"      /* 0xcdef: negative as a half */
        "str    x24, [%[out], #0]\n"
        "str    x25, [%[out], #8]\n"
        "str    x26, [%[out], #16]\n"
        "str    x30, [%[out], #24]\n"
        "str    x1, [%[out], #32]\n"
        : : [dev] "r"(dev), [out] "r"(got)
        : "x1", "x23", "x24", "x25", "x26", "x30", "memory");
    static const uint64_t expected[] = {
        0x8123456789abcdef, 0xffffffff81234567, 0x81, 0x8123456789abcdef, 0xffffffffffffcdef };
    static const char *const names[] = { "ldr x24", "ldrsw x25", "ldrb w26", "ldr x30", "ldrsh x1" };
    check(compare("64-bit", got, expected, 5, names), "mmio 64-bit at 0x%lx: str x, ldr x", dev);
}

/* Stores of the zero register at every width, and a load into it, which
   must change nothing (register 31 is xzr there, not sp). */
static void zero_register(uint64_t dev)
{
    uint64_t got[3];
    __asm__ volatile(
        "mov    x27, #-1\n"
        "str    x27, [%[dev], #0x50]\n"
        "str    x27, [%[dev], #0x58]\n"
        "str    xzr, [%[dev], #0x50]\n"
        "str    wzr, [%[dev], #0x58]\n"
        "strh   wzr, [%[dev], #0x5e]\n"
        "strb   wzr, [%[dev], #0x5c]\n"     /* leaves byte 0x5d alone: 0xff */
        "mov    x28, #-1\n"
        "ldr    x28, [%[dev], #0x50]\n"
        "mov    x27, #0\n"
        "ldr    x27, [%[dev], #0x58]\n"
        "mov    x6, sp\n"
        "ldr    xzr, [%[dev], #0x58]\n"
        "mov    x5, sp\n"
        "sub    x5, x5, x6\n"
        "str    x28, [%[out], #0]\n"
        "str    x27, [%[out], #8]\n"
        "str    x5, [%[out], #16]\n"
        : : [dev] "r"(dev), [out] "r"(got)
        : "x5", "x6", "x27", "x28", "memory");
    static const uint64_t expected[] = { 0, 0x0000ff0000000000, 0 };
    static const char *const names[] = { "str xzr, ldr x28", "str wzr/strh wzr/strb wzr, ldr x27", "ldr xzr: sp moved by" };
    check(compare("zero register", got, expected, 3, names),
          "mmio zero register at 0x%lx: str xzr, str wzr, strh wzr, strb wzr, ldr xzr", dev);
}

void mmio_checks(uint64_t base)
{
    bytes(base);
    halves(base);
    words(base);
    doublewords(base);
    zero_register(base);
}

void mmio_checks_from_tree(void)
{
    int node = fdt_find_compatible(-1, TEST_DEVICE_COMPATIBLE);
    uint64_t base, size;
    if (node < 0) {
        say("mmio skipped: no \"%s\" node in the device tree", TEST_DEVICE_COMPATIBLE);
        return;
    }
    if (!check(fdt_reg(node, 0, &base, &size) && size >= TEST_DEVICE_SIZE && !(base & 7),
               "test device %s: reg 0x%lx 0x%lx (at least %d bytes, 8-byte aligned)",
               fdt_name(node), base, size, TEST_DEVICE_SIZE)) {
        return;
    }
    mmio_checks(base);
}
