// The generic timer. CNTPCT_EL0 is the time base; the EL2 physical timer
// (CNTHP, INTID 26) drives MicroPython's soft timers, which back machine.Timer;
// the EL1 physical timer (CNTP, INTID 30) only wakes the CPU from WFI when a
// sleep or a timeout ends.
#include "py/mphal.h"
#include "py/runtime.h"
#include "shared/runtime/softtimer.h"
#include "cpu.h"
#include "gic.h"
#include "timer.h"

static uint64_t ticks_per_ms;
static uint64_t counter_hz;

uint64_t timer_counter(void) {
    isb();
    return SYSREG_READ(cntpct_el0);
}

uint64_t timer_frequency(void) {
    return counter_hz;
}

uint64_t timer_ms_to_ticks(uint64_t ms) {
    return ms * ticks_per_ms;
}

mp_uint_t mp_hal_ticks_ms(void) {
    return timer_counter() / ticks_per_ms;
}

mp_uint_t mp_hal_ticks_us(void) {
    uint64_t c = timer_counter();
    return (c / counter_hz) * 1000000 + (c % counter_hz) * 1000000 / counter_hz;
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return timer_counter();
}

uint64_t mp_hal_time_ns(void) {
    uint64_t c = timer_counter();
    return (c / counter_hz) * 1000000000 + (c % counter_hz) * 1000000000 / counter_hz;
}

void mp_hal_delay_ms(mp_uint_t ms) {
    uint64_t end = timer_counter() + timer_ms_to_ticks(ms);
    for (;;) {
        uint64_t now = timer_counter();
        if (now >= end) {
            break;
        }
        mp_event_wait_ms((end - now) / ticks_per_ms + 1);
    }
}

void mp_hal_delay_us(mp_uint_t us) {
    uint64_t end = timer_counter() + us * counter_hz / 1000000;
    while (timer_counter() < end) {
    }
}

// Soft timers (shared/runtime/softtimer.c) on the EL2 physical timer.
uint32_t soft_timer_get_ms(void) {
    return mp_hal_ticks_ms();
}

void soft_timer_schedule_at_ms(uint32_t ticks_ms) {
    uint64_t now = timer_counter();
    int32_t delta = (int32_t)(ticks_ms - (uint32_t)(now / ticks_per_ms));
    uint64_t deadline = delta <= 0 ? now : (now / ticks_per_ms + delta) * ticks_per_ms;
    SYSREG_WRITE(cnthp_cval_el2, deadline);
    SYSREG_WRITE(cnthp_ctl_el2, 1);
    isb();
}

// INTID 26 is a PPI: each CPU has its own EL2 timer. CPU 0's runs the soft
// timers; another CPU's gives periodic ticks when asked (aarch64.cpu_timer).
static void timer_el2_irq(unsigned int intid) {
    (void)intid;
    cpu_local_t *cpu = this_cpu();
    if (cpu_index() != 0) {
        cpu->timer_ticks++;
        if (cpu->timer_period) {
            SYSREG_WRITE(cnthp_cval_el2, SYSREG_READ(cnthp_cval_el2) + cpu->timer_period);
        } else {
            SYSREG_WRITE(cnthp_ctl_el2, 0);
        }
        return;
    }
    SYSREG_WRITE(cnthp_ctl_el2, 0);     // deassert; soft_timer_handler re-arms if needed
    soft_timer_handler();
}

void timer_cpu_tick_start(uint64_t period) {
    cpu_local_t *cpu = this_cpu();
    cpu->timer_period = period;
    if (period) {
        SYSREG_WRITE(cnthp_cval_el2, timer_counter() + period);
        SYSREG_WRITE(cnthp_ctl_el2, 1);
    } else {
        SYSREG_WRITE(cnthp_ctl_el2, 0);
    }
    isb();
}

static void timer_wakeup_irq(unsigned int intid) {
    (void)intid;
    SYSREG_WRITE(cntp_ctl_el0, 0);
}

void timer_wait_for_event(int timeout_ms) {
    uint64_t daif = irq_save();
    if (!stdin_rx_any() && MP_STATE_VM(sched_state) != MP_SCHED_PENDING) {
        if (timeout_ms >= 0) {
            SYSREG_WRITE(cntp_cval_el0, timer_counter() + timer_ms_to_ticks(timeout_ms));
            SYSREG_WRITE(cntp_ctl_el0, 1);
        }
        __asm__ volatile ("wfi");       // wakes on a pending IRQ even while it is masked here
        SYSREG_WRITE(cntp_ctl_el0, 0);
    }
    irq_restore(daif);
}

void timer_init(void) {
    counter_hz = SYSREG_READ(cntfrq_el0);
    ticks_per_ms = counter_hz / 1000;
    gic_set_handler(INTID_TIMER_EL2_PHYS, timer_el2_irq);
    gic_set_handler(INTID_TIMER_EL1_PHYS, timer_wakeup_irq);
    gic_enable_irq(INTID_TIMER_EL2_PHYS);
    gic_enable_irq(INTID_TIMER_EL1_PHYS);
}
