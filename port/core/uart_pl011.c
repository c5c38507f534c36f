// PL011 UART driver: polled transmit, interrupt-driven receive handed byte
// by byte to the sink the console registers (uart_irq_enable), or polled
// receive where the interrupt controller is not driven (core/gic.h).
#include <stdint.h>
#include <stdio.h>

#include "mpconfigboard.h"
#include "gic.h"
#include "timer.h"
#include "uart_pl011.h"
#if BOARD_UART_ROUTE_GPIO
#include "gpio_bcm2711.h"
#endif

static uart_rx_sink_t rx_sink;
static volatile bool rx_direct;     // a reader polls the FIFO itself (uart_rx_direct)

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
#define FR_RXFF     (1 << 6)
#define LCRH_FEN    (1 << 4)
#define LCRH_WLEN8  (3 << 5)
#define CR_UARTEN   (1 << 0)
#define CR_TXE      (1 << 8)
#define CR_RXE      (1 << 9)
#define INT_RX      (1 << 4)
#define INT_RT      (1 << 6)

#define UART_BAUD   115200      // the console's rate at boot, and the one a chainloaded firmware expects

// The longest wait for room in the transmit FIFO. At 115200 baud a full
// FIFO drains in under 3 ms; a transmitter that makes no room for this long
// has stopped (its clock stopped, or QEMU's reader stopped reading), and
// waiting longer would hang the firmware, silently, in its next print.
#define UART_TX_TIMEOUT_MS  100
#define UART_FALLBACK_COUNTER_HZ 1000000000u    // if CNTFRQ_EL0 was left 0: a long bound rather than none

static uint64_t tx_timeout_ticks;
static volatile bool tx_stalled;            // output is being dropped until the FIFO has room
static volatile uint32_t tx_dropped;        // bytes dropped while stalled, told when it ends

#if BOARD_UART_ROUTE_GPIO
// The console's pins to ALT0 (UART0), whatever the boot firmware left: on a
// Pi 4 its enable_uart=1 routes them to the mini UART, not here. RXD gets
// its pull-up, so a line with nothing connected reads idle instead of noise
// (a stray 0x03 would interrupt the running program); TXD is driven: no pull.
static void uart_route_pins(void) {
    gpio_set_function(BOARD_UART_TX_PIN, GPIO_FUNC_ALT0);
    gpio_set_function(BOARD_UART_RX_PIN, GPIO_FUNC_ALT0);
    gpio_set_pull(BOARD_UART_TX_PIN, GPIO_PULL_NONE);
    gpio_set_pull(BOARD_UART_RX_PIN, GPIO_PULL_UP);
}
#endif

// Let QEMU's PL011 deliver input again. Its receive FIFO is one byte deep
// until LCR_H.FEN is set: one byte that arrives before the set-up fills it,
// and QEMU's character backend stops offering input. A write to LCR_H that
// changes FEN empties the FIFO without telling the backend; only a read of
// UARTDR does. Without this read, a key pressed while the firmware boots
// left the console deaf for ever. Bytes still in the FIFO are left for the
// receive path (their own reads of UARTDR do the same); reading an empty
// FIFO is harmless on a real PL011.
static void uart_rx_restart(void) {
    if (UART_FR & FR_RXFE) {
        (void)UART_DR;
    }
}

// The PL011's divisor for `baud`: clock / (16 * baud) as a 16.6 fixed-point
// number (IBRD: the integer part, FBRD: 6 bits of fraction), rounded to the
// nearest and kept within what the registers hold (IBRD 1..65535).
static uint32_t uart_div64(uint32_t baud) {
    uint64_t div64 = baud ? ((uint64_t)BOARD_UART_CLOCK_HZ * 4 + baud / 2) / baud : UINT64_MAX;
    return div64 < 64 ? 64 : div64 > 0x3fffff ? 0x3fffff : (uint32_t)div64;
}

static uint32_t line_baud;      // the rate last set

// 8N1 at `baud`, FIFOs on: the only place LCR_H is written, so every change
// of the line settings (and the FIFO reset it may cause) restarts receive.
// The divisors take effect with the LCR_H write that follows them.
static void uart_set_line(uint32_t baud) {
    uint32_t div64 = uart_div64(baud);
    UART_IBRD = div64 >> 6;
    UART_FBRD = div64 & 0x3f;
    UART_LCRH = LCRH_WLEN8 | LCRH_FEN;
    line_baud = baud;
    uart_rx_restart();
}

void uart_init(void) {
    uint64_t hz = timer_frequency();
    tx_timeout_ticks = (hz ? hz : UART_FALLBACK_COUNTER_HZ) / 1000 * UART_TX_TIMEOUT_MS;
    #if BOARD_UART_ROUTE_GPIO
    uart_route_pins();
    #endif
    UART_CR = 0;
    // The last character of whoever used the UART before us (bounded, like every wait here).
    uint64_t end = timer_counter() + tx_timeout_ticks;
    while ((UART_FR & FR_BUSY) && timer_counter() < end) {
    }
    uart_set_line(UART_BAUD);
    UART_IFLS = 0;                          // RX interrupt at 1/8 full; timeout covers the rest
    UART_ICR = 0x7ff;
    UART_CR = CR_UARTEN | CR_TXE | CR_RXE;
}

uint32_t uart_baud_reachable(uint32_t baud) {
    uint32_t div64 = uart_div64(baud);
    return (uint32_t)(((uint64_t)BOARD_UART_CLOCK_HZ * 4 + div64 / 2) / div64);
}

uint32_t uart_baud(void) {
    return line_baud;
}

void uart_divisors(uint32_t *ibrd, uint32_t *fbrd) {
    *ibrd = UART_IBRD;
    *fbrd = UART_FBRD;
}

// The PL011 wants its line settings changed with the UART disabled and the
// transmitter idle (the TRM's order): what is queued goes out at the old
// rate first, bounded like every wait here; received bytes stay in the FIFO.
void uart_set_baud(uint32_t baud) {
    uint64_t end = timer_counter() + tx_timeout_ticks;
    while ((UART_FR & FR_BUSY) && timer_counter() < end) {
    }
    uint32_t cr = UART_CR;
    UART_CR = 0;
    uart_set_line(baud);
    UART_CR = cr;
}

// Room for one byte in the transmit FIFO, waiting at most UART_TX_TIMEOUT_MS;
// once a wait has timed out, not at all until the FIFO has room again.
static bool uart_tx_room(void) {
    if (!(UART_FR & FR_TXFF)) {
        return true;
    }
    if (tx_stalled) {
        return false;
    }
    uint64_t end = timer_counter() + tx_timeout_ticks;
    while (UART_FR & FR_TXFF) {
        if (timer_counter() >= end) {
            tx_stalled = true;
            return false;
        }
    }
    return true;
}

static void uart_tx_byte(unsigned char c) {
    if (uart_tx_room()) {
        UART_DR = c;
    } else {
        tx_dropped++;
    }
}

static void uart_tx_raw(const char *str, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        uart_tx_byte((unsigned char)str[i]);
    }
}

void uart_tx_strn(const char *str, size_t len) {
    if (tx_stalled && !(UART_FR & FR_TXFF)) {
        // The transmitter moves again: say what was lost while it did not.
        tx_stalled = false;
        char note[80];
        int n = snprintf(note, sizeof(note), "\r\n[UART: %u bytes of output dropped: the transmitter had stopped]\r\n",
            (unsigned)tx_dropped);
        tx_dropped = 0;
        uart_tx_raw(note, n);
    }
    uart_tx_raw(str, len);
}

int uart_rx_poll(void) {
    if (UART_FR & FR_RXFE) {
        return -1;
    }
    return UART_DR & 0xff;
}

static bool uart_rx_pending(void) {
    return !rx_direct && !(UART_FR & FR_RXFE);
}

// Hand received bytes to the sink. The interrupt is cleared before the FIFO is drained, not after: a byte that
// lands between the last empty check and a late clear would sit in the FIFO
// with its interrupt gone (QEMU raises RX only as the FIFO goes from empty to
// one byte), and a running program would never see the user's Ctrl-C.
static void uart_irq_handler(unsigned int intid) {
    (void)intid;
    if (rx_direct) {
        UART_IMSC = 0;      // the direct reader's wake-up, taken late: the reader reads
        return;
    }
    UART_ICR = INT_RX | INT_RT;
    int c;
    while ((c = uart_rx_poll()) >= 0) {
        rx_sink(c);
    }
}

void uart_irq_enable(uart_rx_sink_t sink) {
    rx_sink = sink;
    gic_set_handler(BOARD_UART_INTID, uart_irq_handler);
    gic_set_poll(BOARD_UART_INTID, uart_rx_pending);
    UART_IMSC = INT_RX | INT_RT;
    // Input that arrived since the set-up, whose interrupt uart_init cleared
    // (a full FIFO raises no new one): to the sink now, IRQs still masked.
    uart_irq_handler(BOARD_UART_INTID);
    gic_enable_irq(BOARD_UART_INTID);
}

// Direct receive: for a bulk transfer (a binary upload) the caller reads the
// FIFO itself with uart_rx_fifo, the receive interrupt masked and the poll
// silent, so no byte reaches the sink: none is queued for the REPL, and a
// 0x03 in binary data is data, not Ctrl-C. Leaving unmasks the interrupt:
// bytes still in the FIFO raise it (it is a level) and go to the sink.
void uart_rx_direct(bool on) {
    UART_IMSC = 0;
    rx_direct = on;
    if (!on) {
        UART_IMSC = INT_RX | INT_RT;
    }
}

// In direct mode: the receive interrupt as a wake-up only, for a caller that
// masks IRQs at the CPU and waits with WFI (the handler never drains then).
void uart_rx_wake(bool on) {
    UART_ICR = INT_RT;      // a receive timeout already told must not end the next wait at once
    UART_IMSC = on ? INT_RX | INT_RT : 0;
}

// The PL011's receive FIFO holds at least this many bytes when it says full.
#define UART_RX_FIFO_MIN_DEPTH 16

size_t uart_rx_fifo(uint8_t *buf, size_t max) {
    size_t got = 0;
    uint32_t fr;
    while (got < max && !((fr = UART_FR) & FR_RXFE)) {
        if ((fr & FR_RXFF) && max - got >= UART_RX_FIFO_MIN_DEPTH) {
            // A full FIFO: a whole FIFO's worth without looking at FR again.
            for (int i = 0; i < UART_RX_FIFO_MIN_DEPTH; ++i) {
                buf[got++] = (uint8_t)UART_DR;
            }
        } else {
            buf[got++] = (uint8_t)UART_DR;
        }
    }
    return got;
}
