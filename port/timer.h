// The generic timer: time base, soft timers (machine.Timer), wake-ups.
#ifndef PORT_TIMER_H
#define PORT_TIMER_H

#include <stdint.h>

void timer_init(void);          // boot CPU: frequency, interrupts
uint64_t timer_counter(void);
uint64_t timer_frequency(void);
uint64_t timer_ms_to_ticks(uint64_t ms);
void timer_wait_for_event(int timeout_ms);  // WFI until an IRQ or the timeout
void timer_cpu_tick_start(uint64_t period); // this CPU's periodic EL2 timer; 0 stops it

#endif
