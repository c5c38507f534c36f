// PL011 UART driver: polled transmit, interrupt-driven receive handed byte
// by byte to the sink the console registers (uart_irq_enable).
#include <stdint.h>

#include "mpconfigboard.h"
#include "gic.h"
#include "uart_pl011.h"

static uart_rx_sink_t rx_sink;

#define UART_REG(off) (*(volatile uint32_t *)(BOARD_UART_BASE + (off)))
#define UART_DR     UART_REG(0x00)
#define UART_FR     UART_REG(0x18)
#define UART_IBRD   UART_REG(0x24)
#define UART_FBRD   UART_REG(0x28)
#define UART_LCRH   UART_REG(0x2c)
#define UART_CR     UART_REG(0x30)
#define UART_IFLS   UART_REG(0x34)
#define UART_IMSC   UART_REG(0x38)
#define UART_ICR    UART_REG(0x44)

#define FR_BUSY     (1 << 3)
#define FR_RXFE     (1 << 4)
#define FR_TXFF     (1 << 5)
#define LCRH_FEN    (1 << 4)
#define LCRH_WLEN8  (3 << 5)
#define CR_UARTEN   (1 << 0)
#define CR_TXE      (1 << 8)
#define CR_RXE      (1 << 9)
#define INT_RX      (1 << 4)
#define INT_RT      (1 << 6)

#define UART_BAUD   115200

#if BOARD_UART_ROUTE_GPIO
// Route GPIO 14/15 to ALT0 (UART0 TXD/RXD) with no pulls, whatever the boot firmware left.
static void uart_route_pins(void) {
    volatile uint32_t *gpfsel1 = (volatile uint32_t *)(BOARD_GPIO_BASE + 0x04);
    volatile uint32_t *pup_pdn0 = (volatile uint32_t *)(BOARD_GPIO_BASE + 0xe4);
    uint32_t sel = *gpfsel1;
    sel &= ~((7u << 12) | (7u << 15));
    sel |= (4u << 12) | (4u << 15);         // ALT0 for pins 14 and 15
    *gpfsel1 = sel;
    *pup_pdn0 &= ~((3u << 28) | (3u << 30));
}
#endif

void uart_init(void) {
    #if BOARD_UART_ROUTE_GPIO
    uart_route_pins();
    #endif
    UART_CR = 0;
    while (UART_FR & FR_BUSY) {
    }
    // Divisor = clock / (16 * baud), as a 16.6 fixed-point number.
    uint32_t div64 = (BOARD_UART_CLOCK_HZ * 4 + UART_BAUD / 2) / UART_BAUD;
    UART_IBRD = div64 >> 6;
    UART_FBRD = div64 & 0x3f;
    UART_LCRH = LCRH_WLEN8 | LCRH_FEN;
    UART_IFLS = 0;                          // RX interrupt at 1/8 full; timeout covers the rest
    UART_ICR = 0x7ff;
    UART_CR = CR_UARTEN | CR_TXE | CR_RXE;
}

void uart_tx_strn(const char *str, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while (UART_FR & FR_TXFF) {
        }
        UART_DR = (unsigned char)str[i];
    }
}

int uart_rx_poll(void) {
    if (UART_FR & FR_RXFE) {
        return -1;
    }
    return UART_DR & 0xff;
}

// Hand received bytes to the sink. The interrupt is cleared before the FIFO is drained, not after: a byte that
// lands between the last empty check and a late clear would sit in the FIFO
// with its interrupt gone (QEMU raises RX only as the FIFO goes from empty to
// one byte), and a running program would never see the user's Ctrl-C.
static void uart_irq_handler(unsigned int intid) {
    (void)intid;
    UART_ICR = INT_RX | INT_RT;
    int c;
    while ((c = uart_rx_poll()) >= 0) {
        rx_sink(c);
    }
}

void uart_irq_enable(uart_rx_sink_t sink) {
    rx_sink = sink;
    gic_set_handler(BOARD_UART_INTID, uart_irq_handler);
    UART_IMSC = INT_RX | INT_RT;
    gic_enable_irq(BOARD_UART_INTID);
}
