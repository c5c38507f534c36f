/* What a hypervisor's interrupt and console paths cost, timed by the guest
   with its virtual counter (under QEMU -icount shift=0 a count of the
   machine's instructions; host_tools/bench.py converts). Not checks of the
   machine but figures, with a check of what was delivered.

   mode=vtimer n=N: the virtual timer (PPI 27) through a GICv2 the guest
   drives itself, N interrupts while it idles in WFI. Per interrupt:
     latency     CNTV_CVAL_EL0 (when the timer condition became true) to the
                 IRQ vector's counter read (start.S, 3 instructions in);
     round trip  CNTV_CVAL_EL0 to the instruction after the WFI: the
                 hypervisor's exit, the injection, the handler (IAR, rearm,
                 EOIR), the EOI maintenance exit, the return.
   mode=console n=N: N bytes to the PL011's DR, each after FR.TXFF reads
   clear (as Linux's amba-pl011 does), then the same loop on a RAM page,
   whose time is the loop's own. The timing starts 20 ms after the line
   before it, so that what the guest said before is out of the way. */
#include "testguest.h"
#include "gic.h"

#define VTIMER_INTID            27
#define VTIMER_PRIORITY         0xa0    /* above GICC_PMR 0xf0: let through */
#define CNTV_CTL_ENABLE         BIT(0)
#define CNTV_CTL_IMASK          BIT(1)

#define MAX_SAMPLES             1000
#define UARTDR                  0x00
#define UARTFR                  0x18
#define UARTFR_TXFF             BIT(5)

static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }

static uint64_t counter(void)
{
    isb();                              /* not read ahead of what came before */
    return read_sysreg(cntvct_el0);
}

/* Sort n values (insertion: n is small) and give min, median and max. */
static void summary(uint64_t *v, uint32_t n, uint64_t out[3])
{
    for (uint32_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1] > x; j--) {
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
    out[0] = n ? v[0] : 0;
    out[1] = n ? v[n / 2] : 0;
    out[2] = n ? v[n - 1] : 0;
}

/* ---- mode=vtimer ---- */

static uint64_t gicc;
static uint64_t vtimer_delta;           /* ticks from one interrupt to the next deadline */
static volatile uint32_t taken, with_vtimer_intid, other_intid, spurious;
static volatile uint64_t last_cval;     /* the deadline of the interrupt last taken */
static uint32_t vtimer_n;               /* interrupts asked for */
static uint64_t latency[MAX_SAMPLES];

static void vtimer_irq(struct exception_frame *frame)
{
    uint32_t iar = mmio_read32(gicc + GICC_IAR);
    uint32_t intid = iar & INTID_MASK;
    if (intid == INTID_SPURIOUS) {
        spurious++;
        return;
    }
    if (intid == VTIMER_INTID) {
        uint64_t cval = read_sysreg(cntv_cval_el0);
        if (with_vtimer_intid < MAX_SAMPLES) {
            latency[with_vtimer_intid] = frame->stamp - cval;
        }
        with_vtimer_intid++;
        last_cval = cval;
        /* The next deadline before the EOI: the level is down by then. After
           the last one asked for, the timer is masked instead: on a loaded
           host the next deadline could pass before the loop stops it. */
        if (with_vtimer_intid < vtimer_n) {
            write_sysreg(cntv_cval_el0, read_sysreg(cntvct_el0) + vtimer_delta);
        } else {
            write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE | CNTV_CTL_IMASK);
        }
        isb();
    } else {
        other_intid++;
    }
    taken++;
    mmio_write32(gicc + GICC_EOIR, iar);
}

void mode_vtimer(void)
{
    uint32_t n = (uint32_t)bootarg_number("n=", 100);
    if (n > MAX_SAMPLES) {
        n = MAX_SAMPLES;
    }
    uint64_t freq = read_sysreg(cntfrq_el0);
    vtimer_delta = freq / 1000 ? freq / 1000 : 100000;     /* 1 ms */
    uint64_t gicd;
    gicv2_bases(&gicd, &gicc);
    say("vtimer: %u interrupts, GICD 0x%lx, GICC 0x%lx, counter %lu Hz, every %lu ticks",
        n, gicd, gicc, freq, vtimer_delta);

    /* A minimal GICv2: the distributor on, PPI 27 enabled at a priority the
       CPU interface's mask lets through, the CPU interface on. */
    mmio_write32(gicd + GICD_CTLR, 1);
    uint32_t prio_word = mmio_read32(gicd + GICD_IPRIORITYR(VTIMER_INTID & ~3u));
    prio_word &= ~(0xffu << (8 * (VTIMER_INTID % 4)));
    mmio_write32(gicd + GICD_IPRIORITYR(VTIMER_INTID & ~3u),
                 prio_word | (uint32_t)VTIMER_PRIORITY << (8 * (VTIMER_INTID % 4)));
    mmio_write32(gicd + GICD_ISENABLER(0), 1u << VTIMER_INTID);
    mmio_write32(gicc + GICC_PMR, 0xf0);
    mmio_write32(gicc + GICC_CTLR, 1);

    vtimer_n = n;
    irq_handler = vtimer_irq;
    static uint64_t round_trip[MAX_SAMPLES];
    uint32_t round_trips = 0;
    write_sysreg(cntv_cval_el0, read_sysreg(cntvct_el0) + vtimer_delta);
    write_sysreg(cntv_ctl_el0, CNTV_CTL_ENABLE);
    isb();
    __asm__ volatile("msr daifclr, #2" : : : "memory");
    /* A bound on the wait, so a hypervisor that never delivers ends the
       run: generous, as a loaded host may run the guest in fits. */
    struct deadline d = deadline_after_ms(10000 + 50 * (uint64_t)n);
    while (with_vtimer_intid < n && !deadline_passed(&d)) {
        uint32_t before = taken;
        wfi();
        uint64_t now = read_sysreg(cntvct_el0);
        if (taken == before + 1 && with_vtimer_intid <= n && round_trips < MAX_SAMPLES) {
            round_trip[round_trips++] = now - last_cval;
        }
    }
    __asm__ volatile("msr daifset, #2" : : : "memory");
    write_sysreg(cntv_ctl_el0, CNTV_CTL_IMASK);
    isb();
    mmio_write32(gicd + GICD_ICENABLER(0), 1u << VTIMER_INTID);
    irq_handler = NULL;

    uint64_t lat[3], rt[3];
    uint32_t samples = with_vtimer_intid < n ? with_vtimer_intid : n;
    summary(latency, samples, lat);
    summary(round_trip, round_trips, rt);
    say("vtimer: latency ticks min %lu median %lu max %lu (%u samples)", lat[0], lat[1], lat[2], samples);
    say("vtimer: round trip ticks min %lu median %lu max %lu (%u samples)", rt[0], rt[1], rt[2], round_trips);
    check(with_vtimer_intid == n && other_intid == 0,
          "vtimer: took %u interrupts with INTID %u from GICC_IAR, %u with another INTID, %u spurious (of %u asked)",
          with_vtimer_intid, VTIMER_INTID, other_intid, spurious, n);
}

/* ---- mode=console ---- */

static uint8_t fake_uart[0x1000] __attribute__((aligned(4096)));

static uint8_t console_byte(uint32_t i)
{
    return (uint8_t)(' ' + i % 95);     /* printable ASCII, no line ends */
}

/* The timed loop: N bytes to `base`'s DR, each after FR.TXFF reads clear.
   noinline: the same instructions for the UART and for the RAM page. */
static __attribute__((noinline)) uint64_t put_bytes(uint64_t base, uint32_t n)
{
    volatile uint32_t *fr = (volatile uint32_t *)(base + UARTFR);
    volatile uint32_t *dr = (volatile uint32_t *)(base + UARTDR);
    uint64_t t0 = counter();
    for (uint32_t i = 0; i < n; i++) {
        while (*fr & UARTFR_TXFF) {
        }
        *dr = console_byte(i);
    }
    return counter() - t0;
}

void mode_console(void)
{
    uint32_t n = (uint32_t)bootarg_number("n=", 1000);
    say("console: %u bytes follow, then a line end", n);
    /* A moment for the hypervisor to pass on what came before (a VM's
       posted writes wait in a ring for its device model). */
    struct deadline d = deadline_after_ms(20);
    while (!deadline_passed(&d)) {
    }
    uint64_t ticks = put_bytes(console_uart_base(), n);
    volatile uint32_t *dr = (volatile uint32_t *)(console_uart_base() + UARTDR);
    *dr = '\r';                         /* the bytes on a line of their own */
    *dr = '\n';
    uint64_t loop = put_bytes((uint64_t)fake_uart, n);
    say("console: %u bytes in %lu ticks; the same loop to RAM %lu ticks; counter %lu Hz",
        n, ticks, loop, read_sysreg(cntfrq_el0));
}
