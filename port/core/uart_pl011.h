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
// (no interrupt, no Ctrl-C), uart_rx_read polls the FIFO into `buf` and
// returns how many bytes came before the line was idle for `idle_ticks`
// (counter ticks), uart_rx_direct(false) gives the path back.
void uart_rx_direct(bool on);
size_t uart_rx_read(uint8_t *buf, size_t len, uint64_t idle_ticks);

#endif
