// aarch64.receive(pa, size, crc32, block=65536, timeout_ms=1000, deflate=False, channel=0):
// the target's end of the host's binary upload (host_tools Target.upload,
// `aarch64-el2 upload`): `size` bytes from the console UART into physical
// RAM at `pa`, checked against the CRC-32 (zlib's) the host sent.
// channel=1 takes the data bytes from the virtio console instead (QEMU virt:
// core/virtio_console.c), up to 4 KiB per turn of QEMU's main loop where the
// PL011 takes 16; the ACKs and the result still go over the UART, so the
// protocol below is the same on both.
//
// The protocol, after the host has started this function in the raw REPL:
//   target: ACK                 ready; the UART belongs to the transfer
//   host:   one block           `block` bytes of the data (the last may be shorter)
//   target: ACK                 block stored; the host sends the next one
//   ... then the function returns (None) or raises, as any raw REPL call.
// With deflate=True each block goes framed, so the host can compress it
// where that helps (the line, not the CPU, is the limit):
//   host:   u32 n | flag << 31, u32 crc32   little-endian; crc32 of the block as stored
//   host:   n bytes             flag 0: the block as it is (n = its size);
//                               flag 1: raw deflate (RFC 1951) that inflates to exactly it
// A deflated block may refer back up to 32 KiB into the blocks before it
// (the host compresses with them as the dictionary); they are in RAM already.
// A block's CRC-32 is checked as it is stored, so a corrupted block stops
// the transfer there; the whole transfer's CRC-32 is checked at the end.
// One block in flight: the PL011's FIFO is 16 bytes, so on a real line the
// host must not run ahead of a target that is inflating or checking; and a
// failed transfer leaves at most a block's tail on the line, which is
// drained before the error is raised, so none of it reaches the REPL.
#include <arm_acle.h>
#include <string.h>
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/mperrno.h"
#include "core/boot_info.h"
#include "core/mmu.h"
#include "core/timer.h"
#include "core/uart_pl011.h"
#include "core/virtio_console.h"
#include "aarch64.h"
// MicroPython's inflater (lib/uzlib), compiled into the firmware by its
// deflate module (extmod/moddeflate.c includes tinflate.c).
#include "lib/uzlib/uzlib.h"

#if !MICROPY_PY_DEFLATE
#error "aarch64.receive(deflate=True) uses lib/uzlib, which MICROPY_PY_DEFLATE builds in"
#endif

#define RECEIVE_ACK "\x06"
#define DRAIN_QUIET_MS 100      // a failed transfer: the line must be this quiet...
#define DRAIN_LONGEST_MS 3000   // ...within this long, or the error is raised anyway
#define FRAME_DEFLATED (1u << 31)   // a framed block's header: its bytes are deflated
#define DEFLATE_WINDOW 32768        // how far back a deflate stream may refer
#define CHANNEL_UART 0              // the data bytes' way in: the console UART...
#define CHANNEL_VIRTIO 1            // ...or the virtio console

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

// Waiting for bytes: the receive interrupt (the UART's, or the virtio
// console's) armed as a wake-up (masked at the CPU, so it is never taken)
// and the wake-up timer as the idle deadline.
typedef struct {
    uint64_t idle;          // ticks without a byte before the sender counts as gone
    uint64_t armed_until;   // the wake-up timer's deadline; 0: not armed
    uint64_t daif;          // the interrupt mask from before
    bool virtio;            // the bytes come from the virtio console
} rx_wait_t;

static void rx_wait_begin(rx_wait_t *w, uint64_t idle, int channel) {
    w->idle = idle;
    w->armed_until = 0;
    w->virtio = channel == CHANNEL_VIRTIO;
    w->daif = irq_save();
    if (w->virtio) {
        virtio_console_wake(true);
    } else {
        uart_rx_wake(true);
    }
}

static void rx_wait_end(rx_wait_t *w) {
    if (w->virtio) {
        virtio_console_wake(false);
    } else {
        uart_rx_wake(false);
    }
    timer_wake_arm(0);
    irq_restore(w->daif);
}

// Up to `len` bytes into `buf`, returning once it has `at_least` (and all
// the FIFO held, up to `len`); fewer if the line is idle for w->idle ticks.
// Between bytes the CPU sleeps in WFI, woken by the receive interrupt: under
// QEMU a CPU spinning on the FIFO, even with a pause between looks, takes the
// host CPU and the emulator's lock from the thread that fills it (measured:
// 0.03 MB/s spinning, 0.14 with WFI). Nothing is written to the UART or the
// timer per wait: under QEMU each such write costs a lock, and a timer write
// wakes the main loop, the thread that feeds the FIFO 16 bytes at a time. The
// interrupt is a level that falls when the FIFO is empty, so it needs no
// clearing; the timer is armed again only once it has fired.
static size_t receive_upto(rx_wait_t *w, uint8_t *buf, size_t len, size_t at_least) {
    size_t got = 0;
    uint64_t idle_since = 0;    // 0: bytes came on the last look
    while (got < at_least) {
        size_t n = w->virtio ? virtio_console_read(buf + got, len - got) : uart_rx_fifo(buf + got, len - got);
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
        // The virtio console's interrupt stays raised until acknowledged:
        // acknowledged here, and bytes that came just before are not slept
        // through (nor is a wait with no interrupt to end it: then it polls).
        if (w->virtio && virtio_console_rearm()) {
            continue;
        }
        timer_wfi();
    }
    return got;
}

static size_t receive_bytes(rx_wait_t *w, uint8_t *buf, size_t len) {
    return receive_upto(w, buf, len, len);
}

// After a failure: drop what the host still sends until the line is quiet.
static void drain(int channel) {
    uint8_t sink[64];
    rx_wait_t w;
    rx_wait_begin(&w, timer_ms_to_ticks(DRAIN_QUIET_MS), channel);
    uint64_t end = timer_counter() + timer_ms_to_ticks(DRAIN_LONGEST_MS);
    while (receive_bytes(&w, sink, sizeof(sink)) != 0 && timer_counter() < end) {
    }
    rx_wait_end(&w);
}

// How a transfer ended; what went wrong is raised once the UART is given back.
typedef enum { RX_OK, RX_CUT, RX_BAD_HEADER, RX_BAD_DEFLATE, RX_BAD_BLOCK_CRC } rx_status_t;

typedef struct {
    uint8_t *dst;           // where the data goes
    uint64_t size;          // its length
    uint64_t block;         // bytes per acknowledged block
    uint64_t idle;          // ticks without a byte before the sender counts as gone
    bool framed;            // blocks come with headers, deflated or not
    int channel;            // CHANNEL_UART or CHANNEL_VIRTIO: where the data bytes come from
    // results
    uint64_t done;          // bytes stored (and checked, when framed)
    uint32_t crc;           // running CRC-32 of them (~0 at the start)
    uint32_t header[2];     // framed: the last block's header
    uint32_t block_crc;     // framed: the CRC-32 of the last block as stored
    int detail;             // RX_BAD_DEFLATE: uzlib's result, or 0 for a wrong length
} rx_transfer_t;

static uint32_t le32(const uint8_t *p) {
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

// A deflated block's bytes as the inflater asks for them: what the FIFO has
// (at least one byte), `left` of the frame's at most.
typedef struct {
    uzlib_uncomp_t d;
    rx_wait_t *w;
    uint32_t left;          // the frame's bytes not yet read from the line
    bool cut;               // the line went idle in the middle
    uint8_t buf[256];
} inflow_t;

static int inflow_next(void *data) {
    inflow_t *in = data;
    if (!in->left) {
        return -1;          // the stream wants more than the frame holds: an error to the inflater
    }
    size_t max = in->left < sizeof(in->buf) ? in->left : sizeof(in->buf);
    size_t got = receive_upto(in->w, in->buf, max, 1);
    if (!got) {
        in->cut = true;
        return -1;
    }
    in->left -= got;
    in->d.source = in->buf + 1;
    in->d.source_limit = in->buf + got;
    return in->buf[0];
}

// One framed block of `want` bytes at t->dst + t->done.
static rx_status_t receive_framed_block(rx_transfer_t *t, rx_wait_t *w, size_t want) {
    uint8_t *out = t->dst + t->done;
    uint8_t head[8];
    if (receive_bytes(w, head, sizeof(head)) < sizeof(head)) {
        return RX_CUT;
    }
    t->header[0] = le32(head);
    t->header[1] = le32(head + 4);
    uint32_t n = t->header[0] & ~FRAME_DEFLATED;
    if (!(t->header[0] & FRAME_DEFLATED)) {
        if (n != want) {
            return RX_BAD_HEADER;
        }
        if (receive_bytes(w, out, n) < n) {
            return RX_CUT;
        }
    } else {
        if (n == 0 || n >= want) {
            return RX_BAD_HEADER;
        }
        // Inflated as the bytes come: the inflater's work overlaps the wait
        // for the next bytes (under QEMU 16 per turn of its main loop), so
        // the line does not stand idle while a whole block is inflated.
        inflow_t in = { .w = w, .left = n };
        in.d.source_read_data = &in;
        in.d.source_read_cb = inflow_next;
        uzlib_uncompress_init(&in.d, NULL, 0);  // no window: back-references read the output itself
        in.d.source = in.d.source_limit = in.buf;
        in.d.dest_start = t->done > DEFLATE_WINDOW ? out - DEFLATE_WINDOW : t->dst;
        in.d.dest = out;
        in.d.dest_limit = out + want;
        int r = uzlib_uncompress(&in.d);
        if (in.cut) {
            return RX_CUT;
        }
        if (r < 0 || in.d.dest != out + want) {
            // a stream that ends early says UZLIB_DONE; one that wants more than n bytes, an error
            t->detail = r < 0 ? r : 0;
            return RX_BAD_DEFLATE;
        }
        // The rest of the frame: the end of the stream (its end-of-block code, padding).
        while (in.left) {
            uint8_t sink[16];
            size_t k = in.left < sizeof(sink) ? in.left : sizeof(sink);
            if (receive_bytes(w, sink, k) < k) {
                return RX_CUT;
            }
            in.left -= k;
        }
    }
    t->block_crc = ~crc32_update(~0u, out, want);
    if (t->block_crc != t->header[1]) {
        return RX_BAD_BLOCK_CRC;
    }
    return RX_OK;
}

// The transfer itself, the UART's receive path already ours.
static rx_status_t receive_transfer(rx_transfer_t *t) {
    rx_wait_t w;
    rx_status_t status = RX_OK;
    mp_hal_stdout_tx_strn(RECEIVE_ACK, 1);
    while (t->done < t->size) {
        size_t want = t->size - t->done < t->block ? t->size - t->done : t->block;
        // IRQs masked for a block, taken between blocks (others' timers, SGIs).
        rx_wait_begin(&w, t->idle, t->channel);
        size_t got;
        if (t->framed) {
            status = receive_framed_block(t, &w, want);
            got = status == RX_OK ? want : 0;
        } else {
            got = receive_bytes(&w, t->dst + t->done, want);
            status = got < want ? RX_CUT : RX_OK;
        }
        rx_wait_end(&w);
        t->crc = crc32_update(t->crc, t->dst + t->done, got);
        t->done += got;
        if (status != RX_OK) {
            return status;
        }
        mp_hal_stdout_tx_strn(RECEIVE_ACK, 1);
    }
    return RX_OK;
}

// A transfer's header, for a receiver that learns the size from the line
// (machine.bootloader()): ACK, then wait for `magic` followed by the rest of
// `len` bytes into `out`. Other bytes before the magic are dropped (a
// host's leftovers: mpremote leaving the raw REPL sends "\r\x02"); Ctrl-C
// raises KeyboardInterrupt; a partial magic followed by silence is dropped too. `wait_ms` 0 waits for ever. Returns false if
// nothing came in time; a header cut short raises OSError(ETIMEDOUT).
bool aarch64_receive_header(const uint8_t *magic, size_t magic_len, uint8_t *out, size_t len, mp_int_t wait_ms) {
    uint64_t end = wait_ms > 0 ? timer_counter() + timer_ms_to_ticks(wait_ms) : UINT64_MAX;
    size_t matched = 0;
    int status = 0;         // 0: waiting, 1: got it, -1: timed out, -2: Ctrl-C, -3: cut
    uart_rx_direct(true);
    mp_hal_stdout_tx_strn(RECEIVE_ACK, 1);
    while (status == 0) {
        rx_wait_t w;
        // IRQs masked for a look of at most 100 ms, taken between looks.
        rx_wait_begin(&w, timer_ms_to_ticks(100), CHANNEL_UART);
        uint8_t c;
        while (matched < magic_len && receive_bytes(&w, &c, 1) == 1) {
            if (c == magic[matched]) {
                ++matched;
            } else if (c == 0x03) {    // Ctrl-C
                status = -2;
                break;
            } else {
                matched = c == magic[0];
            }
        }
        if (status == 0 && matched == magic_len) {
            memcpy(out, magic, magic_len);
            w.idle = timer_ms_to_ticks(1000);
            status = receive_bytes(&w, out + magic_len, len - magic_len) == len - magic_len ? 1 : -3;
        } else if (status == 0 && timer_counter() >= end) {
            status = -1;
        }
        rx_wait_end(&w);
    }
    if (status == -3) {
        drain(CHANNEL_UART);
    }
    uart_rx_direct(false);
    if (status == -2) {
        mp_raise_type(&mp_type_KeyboardInterrupt);
    }
    if (status == -3) {
        mp_raise_msg_varg(&mp_type_OSError,
            MP_ERROR_TEXT("[Errno %d] ETIMEDOUT: receive: the header was cut short"), MP_ETIMEDOUT);
    }
    return status == 1;
}

void aarch64_receive_into(uint64_t pa, uint64_t size, uint32_t expected, uint64_t block, mp_int_t timeout_ms,
    bool framed, int channel) {
    if (block == 0 || timeout_ms <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("receive: block and timeout_ms must be positive"));
    }
    if (framed && block > (FRAME_DEFLATED - 1)) {
        mp_raise_ValueError(MP_ERROR_TEXT("receive: a framed block must be under 2 GiB"));
    }
    check_range(pa, size);
    if (channel != CHANNEL_UART && channel != CHANNEL_VIRTIO) {
        mp_raise_ValueError(MP_ERROR_TEXT("receive: channel must be 0 (the UART) or 1 (the virtio console)"));
    }
    if (channel == CHANNEL_VIRTIO && !virtio_console_start()) {
        mp_raise_msg_varg(&mp_type_OSError,
            MP_ERROR_TEXT("[Errno %d] ENODEV: receive: no virtio console on this target (channel 1); use channel 0, the UART"),
            MP_ENODEV);
    }

    rx_transfer_t t = {
        .dst = (uint8_t *)(uintptr_t)pa, .size = size, .block = block,
        .idle = timer_ms_to_ticks(timeout_ms), .crc = ~0u,
        .framed = framed, .channel = channel,
    };
    // From here until uart_rx_direct(false) nothing raises: the UART's receive
    // path is ours, and must be given back on every way out.
    uart_rx_direct(true);
    if (channel == CHANNEL_VIRTIO) {
        // What an earlier transfer cut short left there is not this one's.
        uint8_t sink[256];
        while (virtio_console_read(sink, sizeof(sink))) {
        }
    }
    rx_status_t status = receive_transfer(&t);
    if (status != RX_OK) {
        drain(channel);
    }
    uart_rx_direct(false);
    // The bytes stored, and those of a block that failed half-way (written, not counted).
    uint64_t at = t.done, end = t.done + (size - t.done < block ? size - t.done : block);
    clean_to_poc(pa, end);

    switch (status) {
        case RX_OK:
            break;
        case RX_CUT:
            mp_raise_msg_varg(&mp_type_OSError,
                MP_ERROR_TEXT("[Errno %d] ETIMEDOUT: receive: no byte for %d ms after %lu of %lu bytes: the sender stopped"),
                MP_ETIMEDOUT, (int)timeout_ms, (unsigned long)t.done, (unsigned long)size);
        case RX_BAD_HEADER:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("receive: bad block header 0x%08x for bytes %lu..%lu (%s)"),
                (unsigned)t.header[0], (unsigned long)at, (unsigned long)end,
                t.header[0] & FRAME_DEFLATED ? "deflated: fewer bytes than the block's" : "as it is: the block's size");
        case RX_BAD_DEFLATE:
            if (t.detail) {
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("receive: the deflated block for bytes %lu..%lu is corrupt (inflating it: uzlib error %d)"),
                    (unsigned long)at, (unsigned long)end, t.detail);
            }
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("receive: the deflated block for bytes %lu..%lu is corrupt (it does not inflate to exactly %lu bytes)"),
                (unsigned long)at, (unsigned long)end, (unsigned long)(end - at));
        case RX_BAD_BLOCK_CRC:
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("receive: CRC-32 mismatch in bytes %lu..%lu: 0x%08x stored, the sender said 0x%08x"),
                (unsigned long)at, (unsigned long)end,
                (unsigned)t.block_crc, (unsigned)t.header[1]);
    }
    uint32_t crc = ~t.crc;
    if (crc != expected) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("receive: CRC-32 mismatch: the %lu bytes received have 0x%08x, the sender said 0x%08x"),
            (unsigned long)size, (unsigned)crc, (unsigned)expected);
    }
}

static mp_obj_t aarch64_receive(size_t n_args, const mp_obj_t *args) {
    uint64_t pa = aarch64_u64_arg(args[0]);
    uint64_t size = aarch64_u64_arg(args[1]);
    if (aarch64_u64_arg(args[2]) > 0xffffffffu) {
        mp_raise_ValueError(MP_ERROR_TEXT("receive: crc32 must fit in 32 bits"));
    }
    uint32_t expected = (uint32_t)aarch64_u64_arg(args[2]);
    uint64_t block = n_args > 3 ? aarch64_u64_arg(args[3]) : 65536;
    mp_int_t timeout_ms = n_args > 4 ? mp_obj_get_int(args[4]) : 1000;
    bool framed = n_args > 5 && mp_obj_is_true(args[5]);
    int channel = n_args > 6 ? mp_obj_get_int(args[6]) : CHANNEL_UART;
    aarch64_receive_into(pa, size, expected, block, timeout_ms, framed, channel);
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aarch64_receive_obj, 3, 7, aarch64_receive);

// aarch64.virtio_console(): (address of its virtio-mmio transport, transport
// version) of the virtio console receive(..., channel=1) reads, started on
// the first call; None on a target without one.
static mp_obj_t aarch64_virtio_console(void) {
    if (!virtio_console_start()) {
        return mp_const_none;
    }
    mp_obj_t t[2] = {
        mp_obj_new_int_from_ull(virtio_console_base()), MP_OBJ_NEW_SMALL_INT(virtio_console_version()),
    };
    return mp_obj_new_tuple(2, t);
}
MP_DEFINE_CONST_FUN_OBJ_0(aarch64_virtio_console_obj, aarch64_virtio_console);
