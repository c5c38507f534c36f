#ifndef PORT_MPHALPORT_H
#define PORT_MPHALPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "shared/runtime/interrupt_char.h"

void mp_hal_set_interrupt_char(int c);

// Called by the UART interrupt handler for each received byte.
void stdin_rx_byte(int c);
bool stdin_rx_any(void);

// Wait for an IRQ (or the timeout) instead of spinning.
void timer_wait_for_event(int timeout_ms);
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS) timer_wait_for_event(TIMEOUT_MS)

static inline void mp_hal_delay_us_fast(uint32_t us) {
    extern void mp_hal_delay_us(mp_uint_t us);
    mp_hal_delay_us(us);
}

#endif
