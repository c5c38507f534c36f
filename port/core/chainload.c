// Chainload: start another build of this firmware, staged in RAM, in place
// of the running one (see chainload.h). The image must be linked at our own
// load address: it is a firmware for this board, which only the text_offset
// of its arm64 Image header can show (the low 21 bits of the load address),
// so a build for another board is refused by that.
//
// Where the CPUs end up is where the new firmware's smp_start_secondaries()
// expects them, as if the boot loader had just run:
// - PSCI boards (QEMU virt): the secondaries call CPU_OFF; PSCI's CPU_ON
//   starts them again.
// - spin-table boards (the Pi 4): the secondaries zero their slot, turn
//   their MMU off and wait on the slot, as the Pi's armstub leaves them,
//   running a copy of boot/chainload.S's loop outside both images.
// The boot CPU then turns its MMU and caches off, cleans the destination
// to the point of coherency, copies the image and enters it at its first
// byte with the boot loader's x0 (boot/chainload.S, chainload_go).
#include <string.h>

#include "mpconfigboard.h"
#include "boot_info.h"
#include "chainload.h"
#include "cpu.h"
#include "mmu.h"
#include "power.h"
#include "smp.h"
#include "timer.h"
#include "vm.h"

#define SZ_4K               0x1000ul
#define SZ_2M               0x200000ul
#define PARK_PAGE_SIZE      SZ_4K           // after the staged image: the blob, then the flags
#define PARK_FLAGS_OFFSET   0x800           // u32 per CPU: set by a CPU once it is parked
#define PARK_TIMEOUT_MS     1000            // PSCI: for CPU_OFF to be done (a busy emulator is slow)

#define IMAGE_MAGIC_OFFSET  56              // "ARM\x64" in the arm64 Image header
#define IMAGE_TEXT_OFFSET   8
#define IMAGE_SIZE_OFFSET   16
#define IMAGE_FLAGS_OFFSET  24
#define IMAGE_HEADER_SIZE   64
#define IMAGE_SIGN_SIZE     16              // boot/start.S's text right after the header

extern char __image_start[], __heap_end[];
extern char chainload_blob_start[], chainload_blob_end[], chainload_park_spin[], chainload_go[];

typedef void (*park_spin_fn_t)(uint64_t slot, uint64_t flag);
typedef void (*go_fn_t)(uint64_t dst, uint64_t src, uint64_t len, uint64_t flags, uint64_t wait_mask,
    uint64_t dtb);

static uint64_t align_up(uint64_t v, uint64_t a) {
    return (v + a - 1) & ~(a - 1);
}

static bool overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
    return a < b + b_len && b < a + a_len;
}

static uint64_t read_u64(uint64_t pa) {
    const uint8_t *p = (const uint8_t *)pa;
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint64_t dtb_size(uint64_t dtb) {
    const uint8_t *h = (const uint8_t *)dtb;        // the header's totalsize, big-endian
    return dtb ? ((uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7]) : 0;
}

// The staging area of an image of `size` bytes: the image, then the park page.
static uint64_t staging_len(uint64_t size) {
    return align_up(size, SZ_4K) + PARK_PAGE_SIZE;
}

// Does [pa, pa + len) miss everything that must survive until the new firmware runs?
static bool staging_clear(uint64_t pa, uint64_t len, uint64_t new_image_size) {
    uint64_t load = (uintptr_t)__image_start;
    uint64_t used = (uintptr_t)__heap_end - load;
    uint64_t dtb = boot_info_dtb();
    return !overlaps(pa, len, load, used > new_image_size ? used : new_image_size)
           && !(dtb && overlaps(pa, len, dtb, dtb_size(dtb)));
}

static bool in_one_ram_range(uint64_t pa, uint64_t len) {
    const mem_range_t *ram;
    unsigned int n = mmu_ram_ranges(&ram);
    for (unsigned int i = 0; i < n; ++i) {
        if (pa >= ram[i].base && pa + len <= ram[i].base + ram[i].size) {
            return true;
        }
    }
    return false;
}

// From the top of RAM down: the highest place is the furthest from both
// images, and on both boards clear of what the boot loader left low in RAM.
uint64_t chainload_staging(uint64_t size) {
    uint64_t len = staging_len(size);
    const mem_range_t *ram;
    unsigned int n = mmu_ram_ranges(&ram);
    uint64_t best = 0;
    for (unsigned int i = 0; i < n; ++i) {
        if (ram[i].size < len) {
            continue;
        }
        for (uint64_t pa = (ram[i].base + ram[i].size - len) & ~(SZ_2M - 1);
             pa >= ram[i].base && pa > best; pa -= SZ_2M) {
            if (staging_clear(pa, len, 0)) {
                best = pa;
                break;
            }
            if (pa < SZ_2M) {
                break;
            }
        }
    }
    return best;
}

const char *chainload_check(uint64_t staged, uint64_t size, chainload_header_t *h) {
    h->load = (uintptr_t)__image_start;
    h->own_text_offset = read_u64(h->load + IMAGE_TEXT_OFFSET);
    h->text_offset = h->image_size = 0;
    if (size < IMAGE_HEADER_SIZE || memcmp((const void *)(staged + IMAGE_MAGIC_OFFSET), "ARM\x64", 4) != 0) {
        return "it is not an arm64 Image (no \"ARM\\x64\" at byte 56), as this firmware's image is";
    }
    if (size < IMAGE_HEADER_SIZE + IMAGE_SIGN_SIZE
        || memcmp((const void *)(staged + IMAGE_HEADER_SIZE), (const void *)(h->load + IMAGE_HEADER_SIZE),
            IMAGE_SIGN_SIZE) != 0) {
        return "it is an arm64 Image but not of this firmware (no \"EL2 MicroPython\" after the header)";
    }
    if (read_u64(staged + IMAGE_FLAGS_OFFSET) != read_u64(h->load + IMAGE_FLAGS_OFFSET)) {
        return "its header's flags differ from this firmware's";
    }
    h->text_offset = read_u64(staged + IMAGE_TEXT_OFFSET);
    h->image_size = read_u64(staged + IMAGE_SIZE_OFFSET);
    uint32_t code0 = (uint32_t)read_u64(staged);
    if ((code0 & 0xfc000000u) != 0x14000000u) {
        return "its first instruction is not a branch over the header, as this firmware's is";
    }
    if (h->text_offset != h->own_text_offset) {
        return "it is linked for another load address (a build for another board?)";
    }
    if (h->image_size < size || h->image_size > (1ul << 32)) {
        return "its header's image_size is smaller than the image, or absurd";
    }
    if (!in_one_ram_range(h->load, h->image_size)) {
        return "what it uses from the load address (image_size) is not all RAM";
    }
    uint64_t dtb = boot_info_dtb();
    if (dtb && overlaps(h->load, h->image_size, dtb, dtb_size(dtb))) {
        return "what it uses from the load address (image_size) covers the boot device tree";
    }
    if (!staging_clear(staged, staging_len(size), h->image_size)) {
        return "what it uses from the load address (image_size) reaches where it is staged";
    }
    return NULL;
}

// Cleaned to the point of coherency and out of every CPU's instruction
// cache: code written with the caches on, run by CPUs with them off.
static void sync_code(uint64_t start, uint64_t len) {
    uint64_t line = 4u << ((SYSREG_READ(ctr_el0) >> 16) & 0xf);
    for (uint64_t a = start & ~(line - 1); a < start + len; a += line) {
        __asm__ volatile ("dc civac, %0" :: "r" (a) : "memory");
    }
    __asm__ volatile ("dsb sy\n ic ialluis\n dsb sy\n isb" ::: "memory");
}

#if BOARD_SMP_PSCI
// On the secondary, from its mailbox: off, until the new firmware's CPU_ON.
static void park_psci(smp_mailbox_t *mb) {
    (void)mb;
    __asm__ volatile ("msr daifset, #0xf" ::: "memory");
    psci_call(PSCI_CPU_OFF, 0, 0, 0);
    halt();                     // CPU_OFF does not return unless it failed
}
#else
// On the secondary, from its mailbox: the slot emptied where the new
// firmware (with its MMU off until it writes it) and this CPU (with its MMU
// off from here) both see it, then the wait in the park page.
static void park_spin_table(smp_mailbox_t *mb) {
    uint64_t park = mb->arg[0];
    unsigned int cpu = cpu_index();
    volatile uint64_t *slot = (volatile uint64_t *)(BOARD_SPIN_TABLE_BASE + 8 * cpu);
    *slot = 0;
    __asm__ volatile ("dc civac, %0\n dsb sy" :: "r" (slot) : "memory");
    park_spin_fn_t spin = (park_spin_fn_t)(park + (chainload_park_spin - chainload_blob_start));
    spin((uint64_t)slot, park + PARK_FLAGS_OFFSET + 4 * cpu);
    halt();
}
#endif

// Every other CPU parked; the mask of the flags the last step waits for.
static uint32_t park_secondaries(uint64_t park) {
    uint32_t wait_mask = 0;
    for (unsigned int cpu = 1; cpu < MAX_CPUS; ++cpu) {
        if (!cpu_local[cpu].online) {
            continue;
        }
        #if BOARD_SMP_PSCI
        if (smp_post(cpu, park_psci, 0) == 0) {
            uint64_t deadline = timer_counter() + timer_ms_to_ticks(PARK_TIMEOUT_MS);
            while (psci_call(PSCI_AFFINITY_INFO, cpu, 0, 0) != PSCI_AFFINITY_OFF && timer_counter() < deadline) {
            }
        }
        #else
        if (smp_post(cpu, park_spin_table, park) == 0) {
            wait_mask |= 1u << cpu;
        }
        #endif
        // A CPU that could not be asked is left where it is; the new
        // firmware reports the CPUs that do not come up.
        cpu_local[cpu].online = false;
    }
    return wait_mask;
}

void chainload_start(uint64_t staged, uint64_t size) {
    uint64_t park = staged + align_up(size, SZ_4K);
    memcpy((void *)park, chainload_blob_start, chainload_blob_end - chainload_blob_start);
    memset((void *)(park + PARK_FLAGS_OFFSET), 0, 4 * MAX_CPUS);
    sync_code(park, PARK_PAGE_SIZE);

    // As at a soft reset: the guests stopped, every CPU's EL2 state as it booted.
    vm_reset_all();
    cpu_restore_boot_state_all();
    uint32_t wait_mask = park_secondaries(park);

    __asm__ volatile ("msr daifset, #0xf" ::: "memory");
    SYSREG_WRITE(cnthp_ctl_el2, 0);
    go_fn_t go = (go_fn_t)(park + (chainload_go - chainload_blob_start));
    go((uintptr_t)__image_start, staged, align_up(size, 16), park + PARK_FLAGS_OFFSET, wait_mask,
        boot_info_loader_dtb());
    halt();
}
