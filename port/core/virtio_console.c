// A virtio console's receive queue on a virtio-mmio transport (core/virtio_console.h).
//
// Written from the Virtio 1.1 specification (4.2 virtio-mmio, 2.6 split
// virtqueues, 5.3 console device). QEMU's virtio-mmio transports are legacy
// (version 1: QueuePFN, QueueAlign, GuestPageSize) unless QEMU is given
// `-global virtio-mmio.force-legacy=false` (version 2: queue addresses,
// QueueReady, VIRTIO_F_VERSION_1); both are driven, with the same ring
// layout. No feature is accepted but VERSION_1 where the transport needs it:
// without MULTIPORT the console is one port, receiveq0 is queue 0, and no
// control queue exists.
//
// The queue's descriptors are fixed: descriptor i is buffer i, device-writable.
// A buffer read to its end goes straight back on the available ring.
// DMA as on hardware that is not cache-coherent: buffers and ring entries
// are cleaned and invalidated to the point of coherency around each hand-over.
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "mpconfigboard.h"
#include "cpu.h"
#include "gic.h"
#include "virtio_console.h"

#ifdef BOARD_VIRTIO_MMIO_BASE

#define VIRTIO_MAGIC            0x74726976u     // "virt"
#define VIRTIO_ID_CONSOLE       3

// virtio-mmio registers
#define REG_MAGIC               0x000
#define REG_VERSION             0x004
#define REG_DEVICE_ID           0x008
#define REG_DEVICE_FEATURES     0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES     0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_GUEST_PAGE_SIZE     0x028   // legacy
#define REG_QUEUE_SEL           0x030
#define REG_QUEUE_NUM_MAX       0x034
#define REG_QUEUE_NUM           0x038
#define REG_QUEUE_ALIGN         0x03c   // legacy
#define REG_QUEUE_PFN           0x040   // legacy
#define REG_QUEUE_READY         0x044   // version 2
#define REG_QUEUE_NOTIFY        0x050
#define REG_INTERRUPT_ACK       0x064
#define REG_STATUS              0x070
#define REG_QUEUE_DESC_LOW      0x080   // version 2, and the rest
#define REG_QUEUE_DESC_HIGH     0x084
#define REG_QUEUE_DRIVER_LOW    0x090
#define REG_QUEUE_DRIVER_HIGH   0x094
#define REG_QUEUE_DEVICE_LOW    0x0a0
#define REG_QUEUE_DEVICE_HIGH   0x0a4

#define STATUS_ACKNOWLEDGE      1
#define STATUS_DRIVER           2
#define STATUS_DRIVER_OK        4
#define STATUS_FEATURES_OK      8
#define STATUS_FAILED           128

#define F_VERSION_1_HIGH        (1u << 0)   // feature bit 32, in the upper word
#define DESC_F_WRITE            2
#define INTERRUPT_USED_BUFFER   1
#define INTERRUPT_CONFIG        2

#define RECEIVEQ0               0
#define QUEUE_SIZE              32          // a power of two; QEMU offers 128
#define BUF_SIZE                4096        // QEMU hands a console at most 4 KiB per turn
#define PAGE                    4096        // legacy GuestPageSize and QueueAlign

typedef struct {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} vring_desc_t;

typedef struct {
    uint32_t id;
    uint32_t len;
} vring_used_elem_t;

// The legacy layout (2.6.2): descriptors, the available ring after them, the
// used ring at the next QueueAlign boundary. Version 2 takes the same three
// addresses.
typedef struct {
    vring_desc_t desc[QUEUE_SIZE];
    uint16_t avail_flags;
    volatile uint16_t avail_idx;
    uint16_t avail_ring[QUEUE_SIZE];
    uint16_t used_event;
    uint8_t pad[PAGE - QUEUE_SIZE * sizeof(vring_desc_t) - (3 + QUEUE_SIZE) * sizeof(uint16_t)];
    uint16_t used_flags;
    volatile uint16_t used_idx;
    vring_used_elem_t used_ring[QUEUE_SIZE];
    uint16_t avail_event;
} vring_t;

_Static_assert(offsetof(vring_t, used_flags) == PAGE, "the used ring starts at QueueAlign");

static vring_t vring __attribute__((aligned(PAGE)));
static uint8_t buffers[QUEUE_SIZE][BUF_SIZE] __attribute__((aligned(64)));

static int state;               // 0: not looked for yet; 1: running; -1: none (or it refused)
static uintptr_t base;
static unsigned int version;
static unsigned int intid;
static uint16_t next_used;      // the next used-ring entry to read
static uint16_t next_avail;     // the available ring's index as we have filled it
static uint32_t head_offset;    // bytes already read of the buffer at next_used
static bool wake_irq;           // between wake(true) and wake(false): the interrupt ends a WFI

#define REG(off) (*(volatile uint32_t *)(base + (off)))

// Clean and invalidate to the point of coherency: what we wrote reaches the
// device, and our next read sees what the device wrote, not a stale line.
static void dma_sync(const void *p, size_t len) {
    uint64_t line = 4u << ((SYSREG_READ(ctr_el0) >> 16) & 0xf);     // DminLine
    uintptr_t a = (uintptr_t)p & ~(line - 1);
    for (; a < (uintptr_t)p + len; a += line) {
        __asm__ volatile ("dc civac, %0" :: "r" (a) : "memory");
    }
    __asm__ volatile ("dsb sy" ::: "memory");
}

static void give_back(uint16_t id) {
    dma_sync(buffers[id], BUF_SIZE);    // no line of ours may later land on the device's bytes
    vring.avail_ring[next_avail % QUEUE_SIZE] = id;
    dma_sync(&vring.avail_ring[next_avail % QUEUE_SIZE], sizeof(uint16_t));
    ++next_avail;
}

// The available ring's new index, after its entries, then the doorbell.
static void publish(void) {
    __asm__ volatile ("dmb ishst" ::: "memory");
    vring.avail_idx = next_avail;
    dma_sync((const void *)&vring.avail_idx, sizeof(uint16_t));
    REG(REG_QUEUE_NOTIFY) = RECEIVEQ0;
}

static bool fail(void) {
    REG(REG_STATUS) = REG(REG_STATUS) | STATUS_FAILED;
    return false;
}

// Start the console at `base` (3.1.1's order: reset, ACKNOWLEDGE, DRIVER,
// features, FEATURES_OK, queues, DRIVER_OK).
static bool start_device(void) {
    REG(REG_STATUS) = 0;
    if (version == 2) {
        while (REG(REG_STATUS) != 0) {      // a reset is done when it reads back 0
        }
    }
    REG(REG_STATUS) = STATUS_ACKNOWLEDGE;
    REG(REG_STATUS) = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
    uint32_t status = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
    REG(REG_DRIVER_FEATURES_SEL) = 0;
    REG(REG_DRIVER_FEATURES) = 0;           // no SIZE, MULTIPORT, EMERG_WRITE
    if (version == 2) {
        REG(REG_DEVICE_FEATURES_SEL) = 1;
        if (!(REG(REG_DEVICE_FEATURES) & F_VERSION_1_HIGH)) {
            return fail();
        }
        REG(REG_DRIVER_FEATURES_SEL) = 1;
        REG(REG_DRIVER_FEATURES) = F_VERSION_1_HIGH;
        status |= STATUS_FEATURES_OK;
        REG(REG_STATUS) = status;
        if (!(REG(REG_STATUS) & STATUS_FEATURES_OK)) {
            return fail();
        }
    } else {
        REG(REG_GUEST_PAGE_SIZE) = PAGE;
    }

    REG(REG_QUEUE_SEL) = RECEIVEQ0;
    if (REG(REG_QUEUE_NUM_MAX) < QUEUE_SIZE ||
        (version == 2 ? REG(REG_QUEUE_READY) : REG(REG_QUEUE_PFN)) != 0) {
        return fail();
    }
    // Every buffer on the available ring before the device learns the ring.
    memset(&vring, 0, sizeof(vring));
    next_used = next_avail = 0;
    head_offset = 0;
    for (uint16_t i = 0; i < QUEUE_SIZE; ++i) {
        vring.desc[i] = (vring_desc_t){ .addr = (uintptr_t)buffers[i], .len = BUF_SIZE, .flags = DESC_F_WRITE };
        vring.avail_ring[i] = i;
        dma_sync(buffers[i], BUF_SIZE);
    }
    next_avail = QUEUE_SIZE;
    vring.avail_idx = next_avail;
    dma_sync(&vring, sizeof(vring));

    REG(REG_QUEUE_NUM) = QUEUE_SIZE;
    uint64_t desc = (uintptr_t)vring.desc, avail = (uintptr_t)&vring.avail_flags;
    uint64_t used = (uintptr_t)&vring.used_flags;
    if (version == 2) {
        REG(REG_QUEUE_DESC_LOW) = (uint32_t)desc;
        REG(REG_QUEUE_DESC_HIGH) = (uint32_t)(desc >> 32);
        REG(REG_QUEUE_DRIVER_LOW) = (uint32_t)avail;
        REG(REG_QUEUE_DRIVER_HIGH) = (uint32_t)(avail >> 32);
        REG(REG_QUEUE_DEVICE_LOW) = (uint32_t)used;
        REG(REG_QUEUE_DEVICE_HIGH) = (uint32_t)(used >> 32);
        REG(REG_QUEUE_READY) = 1;
    } else {
        REG(REG_QUEUE_ALIGN) = PAGE;
        REG(REG_QUEUE_PFN) = (uint32_t)(desc / PAGE);
    }
    REG(REG_STATUS) = status | STATUS_DRIVER_OK;
    __asm__ volatile ("dsb sy" ::: "memory");
    REG(REG_QUEUE_NOTIFY) = RECEIVEQ0;
    return true;
}

bool virtio_console_start(void) {
    if (state != 0) {
        return state > 0;
    }
    state = -1;
    for (unsigned int i = 0; i < BOARD_VIRTIO_MMIO_COUNT; ++i) {
        base = BOARD_VIRTIO_MMIO_BASE + i * BOARD_VIRTIO_MMIO_STRIDE;
        version = REG(REG_VERSION);
        if (REG(REG_MAGIC) != VIRTIO_MAGIC || (version != 1 && version != 2) ||
            REG(REG_DEVICE_ID) != VIRTIO_ID_CONSOLE) {
            continue;
        }
        intid = BOARD_VIRTIO_MMIO_INTID + i;
        if (start_device()) {
            state = 1;
        }
        break;
    }
    if (state < 0) {
        base = 0;
        version = 0;
    }
    return state > 0;
}

uintptr_t virtio_console_base(void) {
    return state > 0 ? base : 0;
}

unsigned int virtio_console_version(void) {
    return state > 0 ? version : 0;
}

size_t virtio_console_read(uint8_t *buf, size_t max) {
    if (state <= 0) {
        return 0;
    }
    size_t got = 0;
    bool returned = false;
    while (got < max) {
        dma_sync((const void *)&vring.used_idx, sizeof(uint16_t));
        if (vring.used_idx == next_used) {
            break;
        }
        __asm__ volatile ("dmb ishld" ::: "memory");    // the entry and its bytes after the index
        vring_used_elem_t *e = &vring.used_ring[next_used % QUEUE_SIZE];
        if (head_offset == 0) {
            dma_sync(e, sizeof(*e));
        }
        uint32_t id = e->id, len = e->len;
        if (id >= QUEUE_SIZE) {     // not a buffer of ours: skipped
            ++next_used;
            continue;
        }
        if (len > BUF_SIZE) {
            len = BUF_SIZE;
        }
        if (head_offset == 0) {
            dma_sync(buffers[id], len);
        }
        size_t n = len - head_offset < max - got ? len - head_offset : max - got;
        memcpy(buf + got, buffers[id] + head_offset, n);
        got += n;
        head_offset += n;
        if (head_offset >= len) {
            head_offset = 0;
            ++next_used;
            give_back(id);
            returned = true;
        }
    }
    if (returned) {
        publish();
    }
    return got;
}

// The interrupt is the firmware's only while no VM has it passed through
// (gic_forward): one that has gets it left alone, and the reader polls.
void virtio_console_wake(bool on) {
    if (state <= 0) {
        return;
    }
    if (on) {
        wake_irq = gic_driven() && !gic_is_forwarded(intid);
        if (wake_irq) {
            gic_enable_irq(intid);
        }
    } else if (wake_irq) {
        wake_irq = false;
        gic_disable_irq(intid);
        REG(REG_INTERRUPT_ACK) = INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG;
    }
}

bool virtio_console_rearm(void) {
    if (state <= 0) {
        return false;
    }
    if (!wake_irq) {
        return true;        // no interrupt to wake a WFI: look again rather than sleep
    }
    REG(REG_INTERRUPT_ACK) = INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG;
    __asm__ volatile ("dsb sy" ::: "memory");
    dma_sync((const void *)&vring.used_idx, sizeof(uint16_t));
    return vring.used_idx != next_used;
}

void virtio_console_stop(void) {
    if (state > 0) {
        REG(REG_STATUS) = 0;
        if (version == 2) {
            while (REG(REG_STATUS) != 0) {
            }
        }
        __asm__ volatile ("dsb sy" ::: "memory");
    }
    state = 0;
}

#else   // no virtio-mmio transports on this board

bool virtio_console_start(void) {
    return false;
}

uintptr_t virtio_console_base(void) {
    return 0;
}

unsigned int virtio_console_version(void) {
    return 0;
}

size_t virtio_console_read(uint8_t *buf, size_t max) {
    (void)buf;
    (void)max;
    return 0;
}

void virtio_console_wake(bool on) {
    (void)on;
}

bool virtio_console_rearm(void) {
    return false;
}

void virtio_console_stop(void) {
}

#endif
