// aarch64.receive(pa, size, crc32, block=65536, timeout_ms=1000): the
// target's end of the host's binary upload (host_tools Target.upload,
// `aarch64-el2 upload`): `size` raw bytes from the console UART into
// physical RAM at `pa`, checked against the CRC-32 (zlib's) the host sent.
//
// The protocol, after the host has started this function in the raw REPL:
//   target: ACK                 ready; the UART belongs to the transfer
//   host:   `block` bytes       (the last block may be shorter)
//   target: ACK                 block stored; the host sends the next one
//   ... then the function returns (None) or raises, as any raw REPL call.
// One block in flight: the PL011's FIFO is 16 bytes, so on a real line the
// host must not run ahead of a target that is cleaning caches or checking;
// and a failed transfer leaves at most a block's tail on the line, which is
// drained before the error is raised, so none of it reaches the REPL.
#include <arm_acle.h>
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/mperrno.h"
#include "core/boot_info.h"
#include "core/mmu.h"
#include "core/timer.h"
#include "core/uart_pl011.h"
#include "aarch64.h"

#define RECEIVE_ACK "\x06"
#define DRAIN_QUIET_MS 100      // a failed transfer: the line must be this quiet...
#define DRAIN_LONGEST_MS 3000   // ...within this long, or the error is raised anyway

extern char __image_start[], __heap_end[];

static bool overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
    return a < b + b_len && b < a + a_len;
}

// The range must lie inside one RAM range the EL2 map covers and miss the
// firmware itself (image, stacks, vCPU RAM, heap) and the boot device tree
// the firmware still reads: an upload may never corrupt the firmware.
static void check_range(uint64_t pa, uint64_t size) {
    if (size == 0 || pa + size < pa) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("receive: bad range 0x%lx + 0x%lx"),
            (unsigned long)pa, (unsigned long)size);
    }
    uint64_t fw = (uintptr_t)__image_start, fw_len = (uintptr_t)__heap_end - fw;
    if (overlaps(pa, size, fw, fw_len)) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("receive: 0x%lx..0x%lx overlaps the firmware (0x%lx..0x%lx)"),
            (unsigned long)pa, (unsigned long)(pa + size), (unsigned long)fw, (unsigned long)(fw + fw_len));
    }
    uint64_t dtb = boot_info_dtb();
    if (dtb) {
        const uint8_t *h = (const uint8_t *)dtb;    // the header's totalsize, big-endian
        uint64_t dtb_len = (uint32_t)h[4] << 24 | h[5] << 16 | h[6] << 8 | h[7];
        if (overlaps(pa, size, dtb, dtb_len)) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("receive: 0x%lx..0x%lx overlaps the boot device tree (0x%lx..0x%lx)"),
                (unsigned long)pa, (unsigned long)(pa + size), (unsigned long)dtb, (unsigned long)(dtb + dtb_len));
        }
    }
    const mem_range_t *ram;
    unsigned int n = mmu_ram_ranges(&ram);
    for (unsigned int i = 0; i < n; ++i) {
        if (pa >= ram[i].base && pa + size <= ram[i].base + ram[i].size) {
            return;
        }
    }
    mp_raise_msg_varg(&mp_type_ValueError,
        MP_ERROR_TEXT("receive: 0x%lx..0x%lx is not inside one RAM range the firmware maps (see aarch64.ram())"),
        (unsigned long)pa, (unsigned long)(pa + size));
}

// CRC-32 as zlib computes it, with the CRC32X/CRC32B instructions (ARMv8's
// CRC32 extension, which the Cortex-A72 of both boards has): `crc` is the
// running value, ~0 at the start, inverted at the end.
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len) {
    while (len && ((uintptr_t)p & 7)) {
        crc = __crc32b(crc, *p++);
        --len;
    }
    for (; len >= 8; len -= 8, p += 8) {
        crc = __crc32d(crc, *(const uint64_t *)p);
    }
    while (len--) {
        crc = __crc32b(crc, *p++);
    }
    return crc;
}

// Cleaned and invalidated to the point of coherency: a guest with its MMU
// off (or a CPU fetching instructions from it) reads what was written.
static void clean_to_poc(uint64_t start, uint64_t len) {
    uint64_t ctr = SYSREG_READ(ctr_el0);
    uint64_t line = 4u << ((ctr >> 16) & 0xf);     // DminLine, in bytes
    for (uint64_t a = start & ~(line - 1); a < start + len; a += line) {
        __asm__ volatile ("dc civac, %0" :: "r" (a) : "memory");
    }
    __asm__ volatile ("dsb sy\n ic iallu\n dsb sy\n isb" ::: "memory");
}

// Waiting for bytes: the receive interrupt armed as a wake-up (masked at
// the CPU, so it is never taken) and the wake-up timer as the idle deadline.
typedef struct {
    uint64_t idle;          // ticks without a byte before the sender counts as gone
    uint64_t armed_until;   // the wake-up timer's deadline; 0: not armed
    uint64_t daif;          // the interrupt mask from before
} rx_wait_t;

static void rx_wait_begin(rx_wait_t *w, uint64_t idle) {
    w->idle = idle;
    w->armed_until = 0;
    w->daif = irq_save();
    uart_rx_wake(true);
}

static void rx_wait_end(rx_wait_t *w) {
    uart_rx_wake(false);
    timer_wake_arm(0);
    irq_restore(w->daif);
}

// Up to `len` bytes into `buf`; fewer if the line is idle for w->idle ticks.
// Between bytes the CPU sleeps in WFI, woken by the receive interrupt: under
// QEMU a CPU spinning on the FIFO, even with a pause between looks, takes the
// host CPU and the emulator's lock from the thread that fills it (measured:
// 0.03 MB/s spinning, 0.14 with WFI). Nothing is written to the UART or the
// timer per wait: under QEMU each such write costs a lock, and a timer write
// wakes the main loop, the thread that feeds the FIFO 16 bytes at a time. The
// interrupt is a level that falls when the FIFO is empty, so it needs no
// clearing; the timer is armed again only once it has fired.
static size_t receive_bytes(rx_wait_t *w, uint8_t *buf, size_t len) {
    size_t got = 0;
    uint64_t idle_since = 0;    // 0: bytes came on the last look
    while (got < len) {
        size_t n = uart_rx_fifo(buf + got, len - got);
        if (n) {
            got += n;
            idle_since = 0;
            continue;
        }
        uint64_t now = timer_counter();
        if (!idle_since) {
            idle_since = now;
        } else if (now - idle_since >= w->idle) {
            break;
        }
        if (w->armed_until <= now) {    // never armed, or it fired while bytes still came
            w->armed_until = idle_since + w->idle;
            timer_wake_arm(w->armed_until);
        }
        timer_wfi();
    }
    return got;
}

// After a failure: drop what the host still sends until the line is quiet.
static void drain(void) {
    uint8_t sink[64];
    rx_wait_t w;
    rx_wait_begin(&w, timer_ms_to_ticks(DRAIN_QUIET_MS));
    uint64_t end = timer_counter() + timer_ms_to_ticks(DRAIN_LONGEST_MS);
    while (receive_bytes(&w, sink, sizeof(sink)) != 0 && timer_counter() < end) {
    }
    rx_wait_end(&w);
}

static mp_obj_t aarch64_receive(size_t n_args, const mp_obj_t *args) {
    uint64_t pa = aarch64_u64_arg(args[0]);
    uint64_t size = aarch64_u64_arg(args[1]);
    uint32_t expected = (uint32_t)aarch64_u64_arg(args[2]);
    if (aarch64_u64_arg(args[2]) > 0xffffffffu) {
        mp_raise_ValueError(MP_ERROR_TEXT("receive: crc32 must fit in 32 bits"));
    }
    uint64_t block = n_args > 3 ? aarch64_u64_arg(args[3]) : 65536;
    mp_int_t timeout_ms = n_args > 4 ? mp_obj_get_int(args[4]) : 1000;
    if (block == 0 || timeout_ms <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("receive: block and timeout_ms must be positive"));
    }
    check_range(pa, size);

    // From here until uart_rx_direct(false) nothing raises: the UART's receive
    // path is ours, and must be given back on every way out.
    rx_wait_t w;
    uint8_t *dst = (uint8_t *)(uintptr_t)pa;
    uint32_t crc = ~0u;
    uint64_t done = 0;
    uart_rx_direct(true);
    mp_hal_stdout_tx_strn(RECEIVE_ACK, 1);
    while (done < size) {
        size_t want = size - done < block ? size - done : block;
        // IRQs masked for a block, taken between blocks (others' timers, SGIs).
        rx_wait_begin(&w, timer_ms_to_ticks(timeout_ms));
        size_t got = receive_bytes(&w, dst + done, want);
        rx_wait_end(&w);
        crc = crc32_update(crc, dst + done, got);
        done += got;
        if (got < want) {
            break;
        }
        mp_hal_stdout_tx_strn(RECEIVE_ACK, 1);
    }
    if (done < size) {
        drain();
    }
    uart_rx_direct(false);
    clean_to_poc(pa, done);

    if (done < size) {
        mp_raise_msg_varg(&mp_type_OSError,
            MP_ERROR_TEXT("[Errno %d] ETIMEDOUT: receive: no byte for %d ms after %lu of %lu bytes: the sender stopped"),
            MP_ETIMEDOUT, (int)timeout_ms, (unsigned long)done, (unsigned long)size);
    }
    crc = ~crc;
    if (crc != expected) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("receive: CRC-32 mismatch: the %lu bytes received have 0x%08x, the sender said 0x%08x"),
            (unsigned long)size, (unsigned)crc, (unsigned)expected);
    }
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aarch64_receive_obj, 3, 5, aarch64_receive);
