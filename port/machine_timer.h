// machine.Timer (port/machine_timer.c): soft timers whose Python callback is
// scheduled through the timer's own node, periods counted, never queued twice.
#ifndef PORT_MACHINE_TIMER_H
#define PORT_MACHINE_TIMER_H

extern const mp_obj_type_t machine_timer_type;

// At soft reset (MICROPY_PORT_DEINIT_FUNC): forget every timer's queued callback.
void machine_timer_deinit_all(void);

#endif
