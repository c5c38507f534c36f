// The MicroPython HAL on the core's drivers: stdin from the UART's receive
// ring buffer (Ctrl-C detected as bytes arrive), stdout to the UART, ticks
// and delays from the generic timer, soft timers (machine.Timer) on CPU 0's
// EL2 timer, and waiting for events with WFI.
#include "py/mphal.h"
#include "py/ringbuf.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "shared/readline/readline.h"
#include "shared/runtime/softtimer.h"
#include "core/cpu.h"
#include "core/gic.h"
#include "core/timer.h"
#include "core/uart_pl011.h"
#include "banner.h"

static uint8_t stdin_buf[4096];
static ringbuf_t stdin_ringbuf = { stdin_buf, sizeof(stdin_buf), 0, 0 };

// In IRQ context, for each received byte.
static void stdin_rx_byte(int c) {
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

static bool stdin_rx_any(void) {
    return ringbuf_avail(&stdin_ringbuf) > 0;
}

// Backward jumps of the VM until the next poll of the interrupt sources;
// 0 while interrupts work (mpconfigport.h, MICROPY_VM_HOOK_LOOP).
uint32_t mphal_poll_countdown;
#define MPHAL_POLL_EVERY 256

void mphal_poll(void) {
    mphal_poll_countdown = MPHAL_POLL_EVERY;
    gic_poll();
}

void mphal_init(void) {
    uart_irq_enable(stdin_rx_byte);
    timer_el2_set_handler(soft_timer_handler);
    // Without interrupts, a running program polls too: Ctrl-C and machine.Timer then work in a busy loop.
    mphal_poll_countdown = gic_driven() ? 0 : MPHAL_POLL_EVERY;
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
    if (banner_is_machine_text(str, len)) {
        banner_print_machine();
        return len;
    }
    uart_tx_strn(str, len);
    return len;
}

void mphal_wait_for_event(int timeout_ms) {
    uint64_t daif = irq_save();
    if (!stdin_rx_any() && MP_STATE_VM(sched_state) != MP_SCHED_PENDING) {
        timer_wfi_until(timeout_ms >= 0 ? timer_counter() + timer_ms_to_ticks(timeout_ms) : 0);
    }
    irq_restore(daif);
}

// Time

static uint64_t ticks_per_ms(void) {
    return timer_ms_to_ticks(1);
}

mp_uint_t mp_hal_ticks_ms(void) {
    return timer_counter() / ticks_per_ms();
}

static uint64_t counter_to(uint64_t c, uint64_t units_per_s) {
    uint64_t hz = timer_frequency();
    return (c / hz) * units_per_s + (c % hz) * units_per_s / hz;
}

mp_uint_t mp_hal_ticks_us(void) {
    return counter_to(timer_counter(), 1000000);
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return timer_counter();
}

uint64_t mp_hal_time_ns(void) {
    return counter_to(timer_counter(), 1000000000);
}

void mp_hal_delay_ms(mp_uint_t ms) {
    uint64_t end = timer_counter() + timer_ms_to_ticks(ms);
    for (;;) {
        uint64_t now = timer_counter();
        if (now >= end) {
            break;
        }
        mp_event_wait_ms((end - now) / ticks_per_ms() + 1);
    }
}

void mp_hal_delay_us(mp_uint_t us) {
    uint64_t end = timer_counter() + us * timer_frequency() / 1000000;
    while (timer_counter() < end) {
    }
}

// Soft timers (shared/runtime/softtimer.c) on CPU 0's EL2 timer.
uint32_t soft_timer_get_ms(void) {
    return mp_hal_ticks_ms();
}

void soft_timer_schedule_at_ms(uint32_t ticks_ms) {
    uint64_t per_ms = ticks_per_ms();
    uint64_t now = timer_counter();
    int32_t delta = (int32_t)(ticks_ms - (uint32_t)(now / per_ms));
    timer_el2_arm(delta <= 0 ? now : (now / per_ms + delta) * per_ms);
}
