// VideoCore mailbox, property channel (core/mbox_bcm2711.h). The GPU reads
// and writes the request buffer in RAM without the ARM caches: it is cleaned
// before the request and invalidated before the answer is read. The GPU sees
// ARM RAM (below 1 GiB) at bus address 0xC000_0000 + address, as Circle and
// the Pi's firmware documentation use it.
#include <stdbool.h>

#include "mpconfigboard.h"
#include "mbox_bcm2711.h"
#include "timer.h"

#ifdef BOARD_MBOX_BASE

#define MBOX_REG(off)       (*(volatile uint32_t *)(BOARD_MBOX_BASE + (off)))
#define MBOX0_READ          MBOX_REG(0x00)      // GPU to ARM
#define MBOX0_STATUS        MBOX_REG(0x18)
#define MBOX1_WRITE         MBOX_REG(0x20)      // ARM to GPU
#define MBOX1_STATUS        MBOX_REG(0x38)
#define STATUS_FULL         (1u << 31)
#define STATUS_EMPTY        (1u << 30)
#define CHANNEL_PROPERTY    8
#define BUS_ALIAS           0xc0000000u

#define TAG_GET_CLOCK_RATE  0x00030002u
#define CODE_REQUEST        0
#define CODE_SUCCESS        0x80000000u
#define WAIT_MS             100

static volatile uint32_t message[8] __attribute__((aligned(64)));

static void cache_clean_invalidate(void) {
    for (uintptr_t a = (uintptr_t)message; a < (uintptr_t)message + sizeof(message); a += 64) {
        __asm__ volatile ("dc civac, %0" :: "r" (a) : "memory");
    }
    __asm__ volatile ("dsb sy" ::: "memory");
}

static bool wait_clear(volatile uint32_t *status, uint32_t bit, uint64_t deadline) {
    while (*status & bit) {
        if (timer_counter() >= deadline) {
            return false;
        }
    }
    return true;
}

uint32_t mbox_clock_rate(uint32_t id) {
    uint64_t deadline = timer_counter() + timer_ms_to_ticks(WAIT_MS);
    uint32_t request = (BUS_ALIAS | (uint32_t)(uintptr_t)message) | CHANNEL_PROPERTY;
    message[0] = sizeof(message);
    message[1] = CODE_REQUEST;
    message[2] = TAG_GET_CLOCK_RATE;
    message[3] = 8;                 // value buffer: id, rate
    message[4] = 0;
    message[5] = id;
    message[6] = 0;
    message[7] = 0;                 // end tag
    cache_clean_invalidate();
    // Answers to someone else's earlier requests: none at our boot, drained anyway.
    while (!(MBOX0_STATUS & STATUS_EMPTY)) {
        (void)MBOX0_READ;
        if (timer_counter() >= deadline) {
            return 0;
        }
    }
    if (!wait_clear(&MBOX1_STATUS, STATUS_FULL, deadline)) {
        return 0;
    }
    MBOX1_WRITE = request;
    for (;;) {
        if (!wait_clear(&MBOX0_STATUS, STATUS_EMPTY, deadline)) {
            return 0;
        }
        if (MBOX0_READ == request) {
            break;
        }
    }
    cache_clean_invalidate();
    if (message[1] != CODE_SUCCESS || message[5] != id) {
        return 0;
    }
    return message[6];
}

#endif
