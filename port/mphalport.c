// Console: stdin from the UART's receive ring buffer, stdout to the UART.
#include "py/mphal.h"
#include "py/ringbuf.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "shared/readline/readline.h"
#include "cpu.h"
#include "uart_pl011.h"

static uint8_t stdin_buf[4096];
static ringbuf_t stdin_ringbuf = { stdin_buf, sizeof(stdin_buf), 0, 0 };

void stdin_rx_byte(int c) {
    if (c == mp_interrupt_char) {
        mp_sched_keyboard_interrupt();
        return;
    }
    if (ringbuf_put(&stdin_ringbuf, c) < 0 && c == CHAR_CTRL_C) {
        // A full buffer drops what arrives, but not a Ctrl-C: the input queued
        // ahead of it is what the user is cancelling, so it goes instead.
        stdin_ringbuf.iget = stdin_ringbuf.iput;
        ringbuf_put(&stdin_ringbuf, c);
    }
}

bool stdin_rx_any(void) {
    return ringbuf_avail(&stdin_ringbuf) > 0;
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && stdin_rx_any()) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}

int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        uint64_t daif = irq_save();
        int c = ringbuf_get(&stdin_ringbuf);
        if (c < 0) {
            // Also poll the UART, so input works even if a user masked IRQs or
            // re-routed them away from EL2.
            int b;
            while ((b = uart_rx_poll()) >= 0) {
                stdin_rx_byte(b);
            }
            c = ringbuf_get(&stdin_ringbuf);
        }
        irq_restore(daif);
        if (c >= 0) {
            return c;
        }
        mp_event_wait_indefinite();
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    uart_tx_strn(str, len);
    return len;
}
