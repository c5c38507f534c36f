// PL011 UART driver: the console.
#ifndef PORT_UART_PL011_H
#define PORT_UART_PL011_H

#include <stddef.h>

void uart_init(void);
void uart_tx_strn(const char *str, size_t len);
int uart_rx_poll(void);          // a received byte, or -1
void uart_irq_enable(void);      // RX interrupts into the stdin ring buffer

#endif
