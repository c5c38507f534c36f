// aarch64.uart_baud([baud, confirm_ms=500]): the console UART's line rate,
// switched for a faster transfer (host_tools Target.upload(fast_baud=...),
// `aarch64-el2 load --fast-baud`) and back. Without arguments: the rate now.
//
// A 3-wire serial link has no flow control and no way to tell the far end
// its rate changed, so a switch is a handshake that either side may fail,
// after which both are back at the old rate:
//   target: ACK                  at the old rate: the host switches after it
//   (the target switches once the ACK has left its transmitter)
//   host:   ...U...EL2-SYNC      at the new rate, repeated until answered
//   target: EL2-FAST             the target heard it
//   host:   EL2-CONF             the host heard that; the target keeps the rate
//   ... and the call returns True, its end of output at the new rate.
// The target waits confirm_ms for each of the host's steps; a step missing
// puts it back at the old rate and the call returns False there (the host,
// which has seen nothing at the new rate either, goes back on its own
// timeout). With confirm_ms 0 there is no handshake: ACK, then the new rate
// and SETTLE_MS of silence, in which the host switches too, before the end
// of output (for going back to a rate both sides knew before, e.g. 115200).
//
// A rate the divisors cannot reach within 3% raises ValueError before
// anything changes. aarch64.uart_baud_log() lists the last switches, as
// (baud, IBRD, FBRD, outcome) with the divisor registers as the switch set
// them and outcome 'confirmed', 'reverted' (then back to the old ones) or
// 'set' (no handshake): a test on
// QEMU, whose pty ignores the rate, checks with it what a real line gets.
#include <string.h>
#include "py/mphal.h"
#include "py/runtime.h"
#include "core/timer.h"
#include "core/uart_pl011.h"
#include "mpconfigboard.h"
#include "aarch64.h"

#define UART_BAUD_ACK "\x06"
#define HOST_SYNC "EL2-SYNC"
#define TARGET_ANSWER "EL2-FAST"
#define HOST_CONFIRM "EL2-CONF"
#define TOLERANCE_BP 300        // 3%, in hundredths of a percent: what a UART's sampling takes
#define CONFIRM_MS_MAX 60000
#define DRAIN_QUIET_MS 20       // after a failed switch: the host's bytes at the other rate are dropped...
#define DRAIN_LONGEST_MS 1000   // ...until the line is this quiet, or this long at most
#define SETTLE_MS 50            // confirm_ms 0: the host's time to switch after the ACK
#define LOG_LEN 8

typedef struct {
    uint32_t baud, ibrd, fbrd;
    qstr outcome;
} baud_switch_t;

static baud_switch_t baud_log[LOG_LEN];
static unsigned int baud_log_count;     // switches so far; the last LOG_LEN are kept

// A switch's record, with the divisors it set (kept if it reverts).
static baud_switch_t *log_switch(uint32_t baud) {
    baud_switch_t *s = &baud_log[baud_log_count++ % LOG_LEN];
    s->baud = baud;
    s->outcome = MP_QSTR_set;
    uart_divisors(&s->ibrd, &s->fbrd);
    return s;
}

// Waits until `token` has come (other bytes before it are dropped: the
// line's noise while the rates changed) or until `deadline`.
static bool wait_token(const char *token, uint64_t deadline) {
    size_t len = strlen(token), matched = 0;
    while (matched < len) {
        uint8_t c;
        if (!uart_rx_fifo(&c, 1)) {
            if (timer_counter() >= deadline) {
                return false;
            }
            continue;
        }
        matched = c == (uint8_t)token[matched] ? matched + 1 : c == (uint8_t)token[0];
    }
    return true;
}

// Drops what comes until the line is quiet: the host's bytes sent at the other rate.
static void drain(void) {
    uint64_t quiet = timer_ms_to_ticks(DRAIN_QUIET_MS);
    uint64_t now = timer_counter(), last = now, end = now + timer_ms_to_ticks(DRAIN_LONGEST_MS);
    while (now - last < quiet && now < end) {
        uint8_t c;
        if (uart_rx_fifo(&c, 1)) {
            last = now;
        }
        now = timer_counter();
    }
}

static void check_reachable(mp_int_t baud) {
    if (baud <= 0 || baud > 0x7fffffff) {
        mp_raise_ValueError(MP_ERROR_TEXT("uart_baud: the rate must be positive"));
    }
    uint32_t got = uart_baud_reachable((uint32_t)baud);
    uint64_t off = got > (uint64_t)baud ? got - (uint64_t)baud : (uint64_t)baud - got;
    uint64_t bp = off * 10000 / (uint64_t)baud;
    if (bp > TOLERANCE_BP) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("uart_baud: %u baud is out of reach: this UART's %u Hz clock gives %u baud "
                "at the nearest, %u.%02u%% off (at most 3%%)"),
            (unsigned)baud, (unsigned)BOARD_UART_CLOCK_HZ, (unsigned)got, (unsigned)(bp / 100), (unsigned)(bp % 100));
    }
}

// The handshake at the new rate (see the top); false: the host was not heard.
static bool confirm(mp_int_t confirm_ms) {
    uint64_t wait = timer_ms_to_ticks(confirm_ms);
    if (!wait_token(HOST_SYNC, timer_counter() + wait)) {
        return false;
    }
    mp_hal_stdout_tx_strn(TARGET_ANSWER, strlen(TARGET_ANSWER));
    return wait_token(HOST_CONFIRM, timer_counter() + wait);
}

static mp_obj_t aarch64_uart_baud(size_t n_args, const mp_obj_t *args) {
    if (n_args == 0) {
        return mp_obj_new_int_from_uint(uart_baud());
    }
    mp_int_t baud = mp_obj_get_int(args[0]);
    mp_int_t confirm_ms = n_args > 1 ? mp_obj_get_int(args[1]) : 500;
    if (confirm_ms < 0 || confirm_ms > CONFIRM_MS_MAX) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("uart_baud: confirm_ms must be 0..%d"), CONFIRM_MS_MAX);
    }
    check_reachable(baud);
    uint32_t old = uart_baud();
    // From here until uart_rx_direct(false) nothing raises: the receive path
    // is ours (no byte of the handshake reaches the REPL, none is Ctrl-C).
    uart_rx_direct(true);
    mp_hal_stdout_tx_strn(UART_BAUD_ACK, 1);
    uart_set_baud((uint32_t)baud);
    baud_switch_t *record = log_switch(baud);
    bool ok = true;
    if (confirm_ms == 0) {
        uint64_t end = timer_counter() + timer_ms_to_ticks(SETTLE_MS);
        while (timer_counter() < end) {
        }
    } else if (confirm(confirm_ms)) {
        record->outcome = MP_QSTR_confirmed;
    } else {
        ok = false;
        uart_set_baud(old);
        record->outcome = MP_QSTR_reverted;
        drain();
    }
    uart_rx_direct(false);
    return mp_obj_new_bool(ok);
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(aarch64_uart_baud_obj, 0, 2, aarch64_uart_baud);

static mp_obj_t aarch64_uart_baud_log(void) {
    unsigned int n = baud_log_count < LOG_LEN ? baud_log_count : LOG_LEN;
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (unsigned int i = baud_log_count - n; i < baud_log_count; ++i) {
        const baud_switch_t *s = &baud_log[i % LOG_LEN];
        mp_obj_t row[4] = {
            mp_obj_new_int_from_uint(s->baud), MP_OBJ_NEW_SMALL_INT(s->ibrd), MP_OBJ_NEW_SMALL_INT(s->fbrd),
            MP_OBJ_NEW_QSTR(s->outcome),
        };
        mp_obj_list_append(list, mp_obj_new_tuple(4, row));
    }
    return list;
}
MP_DEFINE_CONST_FUN_OBJ_0(aarch64_uart_baud_log_obj, aarch64_uart_baud_log);
