// PL011 UART driver: the console's device.
#ifndef CORE_UART_PL011_H
#define CORE_UART_PL011_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*uart_rx_sink_t)(int c);

void uart_init(void);
void uart_tx_strn(const char *str, size_t len);
int uart_rx_poll(void);                     // a received byte, or -1
void uart_irq_enable(uart_rx_sink_t sink);  // each received byte to `sink`, in IRQ context
// Bulk receive: uart_rx_direct(true) takes the receive path from the sink
// (no interrupt, no Ctrl-C) until uart_rx_direct(false); uart_rx_fifo copies
// what the FIFO holds (up to `max`; 0: empty); uart_rx_wake(true) arms the
// receive interrupt to end a WFI, for a caller that has masked IRQs.
void uart_rx_direct(bool on);
void uart_rx_wake(bool on);
size_t uart_rx_fifo(uint8_t *buf, size_t max);
// The line's rate: what `baud` becomes with this UART's clock (the nearest
// rate its divisors reach); the rate now; the
// divisor registers as they are; a new rate once the transmitter is idle.
uint32_t uart_baud_reachable(uint32_t baud);
uint32_t uart_baud(void);
void uart_divisors(uint32_t *ibrd, uint32_t *fbrd);
void uart_set_baud(uint32_t baud);

#endif
