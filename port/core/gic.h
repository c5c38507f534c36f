// GICv2 driver (distributor and CPU interface) and the firmware's host IRQ
// handler: acknowledge, dispatch by INTID to the handler a driver registered,
// end of interrupt.
#ifndef CORE_GIC_H
#define CORE_GIC_H

#include <stdint.h>

#define GIC_NUM_INTIDS      1020
#define GIC_SPURIOUS        1023

#define INTID_SGI_CALL      1       // cross-CPU call mailbox
#define INTID_SGI_NOTIFY    2       // to CPU 0: Python callbacks pending from another CPU
#define INTID_TIMER_EL2_PHYS 26     // CNTHP: machine.Timer and the soft timers
#define INTID_TIMER_EL1_PHYS 30     // CNTP: wake-up from WFI for sleeps and timeouts

typedef void (*gic_handler_t)(unsigned int intid);

void gic_dist_init(void);
void gic_cpu_init(void);
void gic_set_handler(unsigned int intid, gic_handler_t handler);
void gic_enable_irq(unsigned int intid);
void gic_disable_irq(unsigned int intid);
void gic_send_sgi(unsigned int intid, unsigned int cpu);
uint32_t gic_typer(void);

// The firmware's host IRQ handler (IRQ_HANDLER's default).
void host_irq_handler(void);

#endif
