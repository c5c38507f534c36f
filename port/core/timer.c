// The generic timer. CNTPCT_EL0 is the time base. The EL2 physical timer
// (CNTHP, INTID 26) is the host's own: on CPU 0 it drives the handler the
// MicroPython layer registers (soft timers, behind machine.Timer); on another
// CPU it gives periodic ticks when asked (aarch64.cpu_timer). The EL1
// physical timer (CNTP, INTID 30) wakes the CPU from WFI when a sleep or a
// timeout ends, and the vCPU core (core/vcpu.c) also uses it as the deadline
// of a guest run.
#include "py/mphal.h"
#include "cpu.h"
#include "gic.h"
#include "timer.h"

static uint64_t ticks_per_ms;
static uint64_t counter_hz;
static void (*el2_handler)(void);

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

void timer_el2_set_handler(void (*handler)(void)) {
    el2_handler = handler;
}

void timer_el2_arm(uint64_t deadline) {
    SYSREG_WRITE(cnthp_cval_el2, deadline);
    SYSREG_WRITE(cnthp_ctl_el2, CNTHP_CTL_EL2_ENABLE);
    isb();
}

// INTID 26 is a PPI: each CPU has its own EL2 timer.
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
    SYSREG_WRITE(cnthp_ctl_el2, 0);     // deassert; the handler re-arms if it needs to
    if (el2_handler) {
        el2_handler();
    }
}

void timer_cpu_tick_start(uint64_t period) {
    cpu_local_t *cpu = this_cpu();
    cpu->timer_period = period;
    if (period) {
        timer_el2_arm(timer_counter() + period);
    } else {
        SYSREG_WRITE(cnthp_ctl_el2, 0);
        isb();
    }
}

static void timer_wakeup_irq(unsigned int intid) {
    (void)intid;
    SYSREG_WRITE(cntp_ctl_el0, 0);
}

void timer_wfi_until(uint64_t deadline) {
    if (deadline) {
        SYSREG_WRITE(cntp_cval_el0, deadline);
        SYSREG_WRITE(cntp_ctl_el0, CNTP_CTL_EL0_ENABLE);
    }
    __asm__ volatile ("wfi");       // wakes on a pending IRQ even while it is masked here
    SYSREG_WRITE(cntp_ctl_el0, 0);
}

void timer_cpu_init(void) {
    gic_enable_irq(INTID_TIMER_EL2_PHYS);
    gic_enable_irq(INTID_TIMER_EL1_PHYS);
}

void timer_init(void) {
    counter_hz = SYSREG_READ(cntfrq_el0);
    ticks_per_ms = counter_hz / 1000;
    gic_set_handler(INTID_TIMER_EL2_PHYS, timer_el2_irq);
    gic_set_handler(INTID_TIMER_EL1_PHYS, timer_wakeup_irq);
    timer_cpu_init();
}
