// PL011 UART driver: the console's device.
#ifndef CORE_UART_PL011_H
#define CORE_UART_PL011_H

#include <stddef.h>

typedef void (*uart_rx_sink_t)(int c);

void uart_init(void);
void uart_tx_strn(const char *str, size_t len);
int uart_rx_poll(void);                     // a received byte, or -1
void uart_irq_enable(uart_rx_sink_t sink);  // each received byte to `sink`, in IRQ context

#endif
