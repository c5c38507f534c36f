// The MicroPython HAL of this port: console, time, waiting for events.
#ifndef PORT_MPHALPORT_H
#define PORT_MPHALPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "shared/runtime/interrupt_char.h"

// Set up the console (UART receive into the stdin ring buffer, Ctrl-C) and
// the soft timers (machine.Timer) on the core's drivers. Boot CPU, once.
void mphal_init(void);

void mp_hal_set_interrupt_char(int c);

// Without a driven interrupt controller (core/gic.h) the interrupt sources
// (console input, Ctrl-C, timers) are polled, also from the VM every
// mphal_poll_countdown backward jumps: mphal_poll(), declared with the
// VM hook in mpconfigport.h.

// Wait for an IRQ (or the timeout) instead of spinning.
void mphal_wait_for_event(int timeout_ms);
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS) mphal_wait_for_event(TIMEOUT_MS)

static inline void mp_hal_delay_us_fast(uint32_t us) {
    extern void mp_hal_delay_us(mp_uint_t us);
    mp_hal_delay_us(us);
}

#endif
