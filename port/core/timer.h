// The generic timer: the time base (CNTPCT_EL0), this CPU's EL2 physical
// timer (CNTHP, INTID 26), and wake-ups from WFI on the EL1 physical timer
// (CNTP, INTID 30).
#ifndef CORE_TIMER_H
#define CORE_TIMER_H

#include <stdint.h>

void timer_init(void);          // boot CPU: frequency, interrupts
void timer_cpu_init(void);      // each CPU: its timer interrupts
uint64_t timer_counter(void);
uint64_t timer_frequency(void);
uint64_t timer_ms_to_ticks(uint64_t ms);

// CPU 0's EL2 timer: fires `handler` (in IRQ context) at the counter value
// `deadline`; the MicroPython layer runs its soft timers (machine.Timer) on it.
void timer_el2_set_handler(void (*handler)(void));
void timer_el2_arm(uint64_t deadline);

// The end of a guest run on this CPU (0: none), on the same EL2 timer, so a
// guest cannot reach it. IRQs masked.
void timer_guest_deadline_set(uint64_t deadline);

// WFI until an interrupt is pending, or at the latest until the counter
// reaches `deadline` (0: no deadline). Call with IRQs masked. Without a
// driven interrupt controller: poll the interrupt sources and return after
// the next event instead (a caller waits in a loop anyway).
void timer_wfi_until(uint64_t deadline);

// The same wait for a caller that waits many times against one deadline (a
// bulk receive): timer_wake_arm(deadline) arms the wake-up timer once (0:
// disarms it), timer_wfi() waits. Under QEMU every write to the timer wakes
// the emulator's main loop, the thread that also feeds the UART.
void timer_wake_arm(uint64_t deadline);
void timer_wfi(void);

// Another CPU's periodic EL2 timer ticks (counter ticks between them); 0 stops it.
void timer_cpu_tick_start(uint64_t period);

#endif
