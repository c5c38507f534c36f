/* The console: a PL011 UART, polled. Only the data and flag registers are
   used, so the UART needs no set-up (the VM's model or QEMU's has it on). */
#include "testguest.h"

#define UARTDR          0x00
#define UARTFR          0x18
#define UARTFR_TXFF     BIT(5)          /* transmit FIFO full */
#define TXFF_POLLS      1000000         /* then write anyway: never hang on a stuck flag */

static uint64_t uart_base = PL011_FALLBACK_BASE;

void console_init(uint64_t base)
{
    uart_base = base;
}

uint64_t console_uart_base(void)
{
    return uart_base;
}

static void putc_raw(char c)
{
    volatile uint32_t *fr = (volatile uint32_t *)(uart_base + UARTFR);
    volatile uint32_t *dr = (volatile uint32_t *)(uart_base + UARTDR);
    for (int i = 0; i < TXFF_POLLS && (*fr & UARTFR_TXFF); i++) {
    }
    *dr = (uint8_t)c;
}

static void puts_raw(const char *s)
{
    while (*s) {
        putc_raw(*s++);
    }
}

static void put_unsigned(uint64_t v, unsigned int base)
{
    char digits[20];
    int n = 0;
    do {
        unsigned int d = v % base;
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n) {
        putc_raw(digits[--n]);
    }
}

/* A small printf: %s %c %d %u %x %p %%, with l/ll for 64-bit integers. */
static void vformat(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            putc_raw(*fmt);
            continue;
        }
        fmt++;
        bool wide = false;
        while (*fmt == 'l') {
            wide = true;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            puts_raw(s ? s : "(null)");
            break;
        }
        case 'c':
            putc_raw((char)va_arg(ap, int));
            break;
        case 'd': {
            int64_t v = wide ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) {
                putc_raw('-');
                put_unsigned(-(uint64_t)v, 10);
            } else {
                put_unsigned((uint64_t)v, 10);
            }
            break;
        }
        case 'u':
            put_unsigned(wide ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10);
            break;
        case 'x':
            put_unsigned(wide ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16);
            break;
        case 'p':
            puts_raw("0x");
            put_unsigned((uint64_t)va_arg(ap, void *), 16);
            break;
        case '%':
            putc_raw('%');
            break;
        case '\0':
            return;
        default:
            putc_raw('%');
            putc_raw(*fmt);
            break;
        }
    }
}

void vsay(const char *fmt, va_list ap, const char *ending)
{
    puts_raw("testguest: ");
    vformat(fmt, ap);
    puts_raw(ending);
    puts_raw("\r\n");
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap, "");
    va_end(ap);
}
