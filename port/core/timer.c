// The generic timer. CNTPCT_EL0 is the time base. The EL2 physical timer
// (CNTHP, INTID 26) is the host's own, out of any guest's reach: on CPU 0 it
// drives the handler the MicroPython layer registers (soft timers, behind
// machine.Timer); on another CPU it gives periodic ticks when asked
// (aarch64.cpu_timer); on every CPU it also ends a guest run at its deadline
// (core/vcpu.c). The EL1 physical timer (CNTP, INTID 30) only wakes the host
// from WFI when a sleep or a timeout ends; while a guest runs, CNTP and CNTV
// are the guest's (saved and restored with its context).
#include "py/mphal.h"
#include "py/misc.h"
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

// Also before timer_init: the UART bounds its first waits with it.
uint64_t timer_frequency(void) {
    return counter_hz ? counter_hz : SYSREG_READ(cntfrq_el0);
}

uint64_t timer_ms_to_ticks(uint64_t ms) {
    return ms * ticks_per_ms;
}

void timer_el2_set_handler(void (*handler)(void)) {
    el2_handler = handler;
}

// CNTHP at the earlier of this CPU's two deadlines, or off. IRQs masked.
static void el2_program(cpu_local_t *cpu) {
    uint64_t e = cpu->el2_event_deadline, g = cpu->el2_guest_deadline;
    uint64_t next = e == 0 ? g : g == 0 ? e : MIN(e, g);
    if (next) {
        SYSREG_WRITE(cnthp_cval_el2, next);
        SYSREG_WRITE(cnthp_ctl_el2, CNTHP_CTL_EL2_ENABLE);
    } else {
        SYSREG_WRITE(cnthp_ctl_el2, 0);
    }
    isb();
}

static void el2_set_event(uint64_t deadline) {
    uint64_t daif = irq_save();
    cpu_local_t *cpu = this_cpu();
    cpu->el2_event_deadline = deadline;
    el2_program(cpu);
    irq_restore(daif);
}

void timer_el2_arm(uint64_t deadline) {
    el2_set_event(deadline ? deadline : 1);
}

void timer_guest_deadline_set(uint64_t deadline) {
    cpu_local_t *cpu = this_cpu();
    cpu->el2_guest_deadline = deadline;
    el2_program(cpu);
}

// INTID 26 is a PPI: each CPU has its own EL2 timer.
static void timer_el2_irq(unsigned int intid) {
    (void)intid;
    cpu_local_t *cpu = this_cpu();
    uint64_t now = timer_counter();
    if (cpu->el2_guest_deadline && now >= cpu->el2_guest_deadline) {
        cpu->el2_guest_deadline = 0;    // the guest run it ended sees the counter past it
    }
    uint64_t due = cpu->el2_event_deadline;
    bool event = due && now >= due;
    if (event) {
        cpu->el2_event_deadline = 0;
        if (cpu_index() != 0) {
            cpu->timer_ticks++;
            if (cpu->timer_period) {
                cpu->el2_event_deadline = due + cpu->timer_period;     // late ticks catch up
            }
        }
    }
    el2_program(cpu);
    if (event && cpu_index() == 0 && el2_handler) {
        el2_handler();                  // re-arms through timer_el2_arm if it needs to
    }
}

void timer_cpu_tick_start(uint64_t period) {
    cpu_local_t *cpu = this_cpu();
    cpu->timer_period = period;
    el2_set_event(period ? timer_counter() + period : 0);
}

// Polled fallback (no driven interrupt controller): the EL2 timer's
// condition, as its interrupt would say it.
static bool timer_el2_pending(void) {
    uint64_t ctl = SYSREG_READ(cnthp_ctl_el2);
    return (ctl & CNTHP_CTL_EL2_ENABLE) && (ctl & CNTHP_CTL_EL2_ISTATUS) && !(ctl & CNTHP_CTL_EL2_IMASK);
}

static void timer_wakeup_irq(unsigned int intid) {
    (void)intid;
    SYSREG_WRITE(cntp_ctl_el0, 0);
}

void timer_wfi_until(uint64_t deadline) {
    if (!gic_driven()) {
        // No interrupt would end a WFI: poll the sources, then wait for the
        // next event (the event stream bounds it to a few microseconds).
        gic_poll();
        __asm__ volatile ("wfe");
        return;
    }
    if (deadline) {
        SYSREG_WRITE(cntp_cval_el0, deadline);
        SYSREG_WRITE(cntp_ctl_el0, CNTP_CTL_EL0_ENABLE);
    }
    __asm__ volatile ("wfi");       // wakes on a pending IRQ even while it is masked here
    SYSREG_WRITE(cntp_ctl_el0, 0);
}

void timer_wake_arm(uint64_t deadline) {
    if (deadline) {
        SYSREG_WRITE(cntp_cval_el0, deadline);
        SYSREG_WRITE(cntp_ctl_el0, CNTP_CTL_EL0_ENABLE);
    } else {
        SYSREG_WRITE(cntp_ctl_el0, 0);
    }
}

void timer_wfi(void) {
    if (!gic_driven()) {
        gic_poll();
        __asm__ volatile ("wfe");
        return;
    }
    __asm__ volatile ("wfi");
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
    gic_set_poll(INTID_TIMER_EL2_PHYS, timer_el2_pending);
    timer_cpu_init();
}
