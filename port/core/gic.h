// GIC driver (GICv2: distributor and CPU interface; GICv3: distributor,
// redistributors and the ICC_* system registers, in gic3.c) and the
// firmware's host IRQ handler: acknowledge, dispatch by INTID to the handler
// a driver registered, end of interrupt.
#ifndef CORE_GIC_H
#define CORE_GIC_H

#include <stdbool.h>
#include <stdint.h>

#define GIC_NUM_INTIDS      1020
#define GIC_SPURIOUS        1023

#define INTID_SGI_CALL      1       // cross-CPU call mailbox
#define INTID_SGI_NOTIFY    2       // to CPU 0: Python callbacks pending from another CPU
#define INTID_SGI_KICK      3       // a VM's vCPU: leave the guest, a virtual interrupt waits
#define INTID_TIMER_EL2_PHYS 26     // CNTHP: machine.Timer and the soft timers
#define INTID_TIMER_EL1_PHYS 30     // CNTP: wake-up from WFI for sleeps and timeouts

typedef void (*gic_handler_t)(unsigned int intid);
typedef bool (*gic_pending_fn_t)(void);

typedef enum {
    GIC_UNKNOWN,            // no distributor ID this driver recognises
    GIC_V2,                 // driven
    GIC_V2_SECURE_ONLY,     // a GICv2 whose interrupts the Non-secure side cannot enable
    GIC_V3,                 // driven where the board has redistributors (BOARD_GICR_BASE)
    GIC_V4,
} gic_kind_t;

// Identify the controller (boot CPU, before any other gic_* call). A GICv2,
// and a GICv3 whose redistributors answer, are driven; with any other,
// every gic_* call below does nothing and the interrupt sources are polled
// (gic_set_poll, gic_poll).
gic_kind_t gic_probe(void);
gic_kind_t gic_kind(void);
// Inline: cross-calls and the idle loops ask on every call and turn.
extern bool gic_is_driven;          // set by gic.c alone
static inline bool gic_driven(void) {
    return gic_is_driven;
}
// After gic_dist_init: can `intid` be enabled from here? If not, the
// controller is not driven from then on (GIC_V2_SECURE_ONLY).
bool gic_check_nonsecure(unsigned int intid);

// Polled fallback: `pending` says whether the source of `intid` has
// something for its handler; gic_poll() runs the handlers of those that do.
void gic_set_poll(unsigned int intid, gic_pending_fn_t pending);
void gic_poll(void);

void gic_dist_init(void);
void gic_cpu_init(void);
void gic_set_handler(unsigned int intid, gic_handler_t handler);
void gic_enable_irq(unsigned int intid);
void gic_disable_irq(unsigned int intid);
void gic_send_sgi(unsigned int intid, unsigned int cpu);
uint32_t gic_typer(void);
// GICv3: the redistributor (RD_base) of `cpu`, once it came up; else 0.
uintptr_t gic_redistributor(unsigned int cpu);

// Forward SPI `intid` to a guest (a VM's passthrough, vgic.c): it goes to
// `cpu`, `handler` runs there, and its end is a priority drop alone: the
// guest's EOI (a list register with the HW bit) deactivates it. False on a
// controller that cannot (not driven), a bad INTID, or one
// the firmware handles itself.
// gic_unforward: back to the host, off, neither pending nor active.
bool gic_forward(unsigned int intid, unsigned int cpu, gic_handler_t handler);
void gic_unforward(unsigned int intid);
bool gic_is_forwarded(unsigned int intid);
// Has a driver of the firmware's registered a handler for `intid`? (Such an
// interrupt is never forwarded.)
bool gic_has_handler(unsigned int intid);

// The firmware's host IRQ handler (IRQ_HANDLER's default).
void host_irq_handler(void);

#endif
