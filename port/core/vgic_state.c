// The virtual distributor's interrupt state, shared by the GICv2 (vgic.c)
// and GICv3 (vgic3.c) hardware sides: what is pending and enabled, which
// interrupt goes into a free list register next, what the guest's end of
// one changes, the virtual timer's line. List registers are kept in the
// GICv2 layout (GICH_LRn) whatever the hardware; vgic3.c converts.
//
// Built with -mgeneral-regs-only, as vm.c: it runs in the exit path.
#include "cpu.h"
#include "gic.h"
#include "timer.h"
#include "vgic.h"
#include "vm.h"

// -- locking and kicking --------------------------------------------------

uint64_t vgic_lock(vgic_t *g) {
    uint64_t daif = irq_save();
    while (__atomic_exchange_n(&g->lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&g->lock, __ATOMIC_RELAXED)) {
        }
    }
    return daif;
}

void vgic_unlock(vgic_t *g, uint64_t daif) {
    __atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
    irq_restore(daif);
}

// vCPUs in `mask` may have a new interrupt: those inside the guest leave
// it (and load it on the way back in), the vCPU whose access this is too
// (answered without leaving the guest, it would not see it otherwise). The
// others load it before they next enter.
void vgic_kick(vm_t *vm, uint32_t mask) {
    for (unsigned int k = 0; k < vm->n_vcpus; ++k) {
        vcpu_ctx_t *v = &vm->vcpus[k];
        if ((mask >> k) & 1 && __atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE) == VM_RUN_RUNNING) {
            gic_send_sgi(INTID_SGI_KICK, v->cpu);
        }
    }
}

// -- interrupt state ------------------------------------------------------

bool vgic_spi_edge(const vgic_t *g, unsigned int intid) {
    return (g->edge_w[intid / 32] >> (intid % 32)) & 1;
}

// The vCPU an SPI goes to: the first in its target list.
int vgic_spi_target(const vgic_t *g, unsigned int intid) {
    uint8_t t = g->target[intid];
    return t ? __builtin_ctz(t) : -1;
}

bool vgic_set_level(vm_t *vm, unsigned int intid, bool level) {
    vgic_t *g = &vm->vgic;
    if (!g->present || intid < 32 || intid >= VGIC_NR_IRQS) {
        return false;
    }
    unsigned int w = intid / 32;
    uint32_t bit = 1u << (intid % 32);
    uint64_t daif = vgic_lock(g);
    bool was = g->level_w[w] & bit;
    if (level) {
        g->level_w[w] |= bit;
        if (!vgic_spi_edge(g, intid) || !was) {
            g->pending_w[w] |= bit;
        }
    } else {
        g->level_w[w] &= ~bit;
        if (!vgic_spi_edge(g, intid)) {
            g->pending_w[w] &= ~bit;        // a level interrupt not yet taken goes away with its line
        }
    }
    int k = vgic_spi_target(g, intid);
    vgic_unlock(g, daif);
    if (level && k >= 0) {
        vgic_kick(vm, 1u << k);
    }
    return true;
}

// The best interrupt (lowest priority value) vCPU k could take now and is
// not already in one of its list registers; -1 if none. *src: an SGI's source.
static int vgic_best(const vgic_t *g, const vgic_cpu_t *c, unsigned int k, unsigned int *src) {
    if (!g->enabled) {
        return -1;
    }
    int best = -1;
    unsigned int best_prio = 256;
    uint32_t sgis = c->enabled & ~c->queued & 0xffff;
    for (; sgis; sgis &= sgis - 1) {
        unsigned int i = __builtin_ctz(sgis);
        if (c->sgi_src[i] && c->priority[i] < best_prio) {
            best = i;
            best_prio = c->priority[i];
            *src = __builtin_ctz(c->sgi_src[i]);
        }
    }
    uint32_t ppis = (c->pending | c->level) & c->enabled & ~c->queued & 0xffff0000;
    for (; ppis; ppis &= ppis - 1) {
        unsigned int i = __builtin_ctz(ppis);
        if (c->priority[i] < best_prio) {
            best = i;
            best_prio = c->priority[i];
        }
    }
    for (unsigned int w = 1; w < VGIC_WORDS; ++w) {
        uint32_t spis = g->pending_w[w] & g->enabled_w[w] & ~g->queued_w[w];
        for (; spis; spis &= spis - 1) {
            unsigned int i = 32 * w + __builtin_ctz(spis);
            if (vgic_spi_target(g, i) == (int)k && g->priority[i] < best_prio) {
                best = i;
                best_prio = g->priority[i];
            }
        }
    }
    return best;
}

// Put interrupt `intid` into a list register value; it counts as queued
// until the guest has ended it. A GICv2 SGI names its source, one at a
// time; a GICv3 SGI carries none: SGIs from several vCPUs become one.
static uint32_t vgic_queue(vgic_t *g, vgic_cpu_t *c, unsigned int intid, unsigned int src) {
    uint32_t lr = LR_PENDING | intid;
    uint8_t prio;
    if (intid < 32) {
        c->queued |= 1u << intid;
        prio = c->priority[intid];
        if (intid >= 16) {
            c->pending &= ~(1u << intid);
            lr |= LR_EOI;                   // level: look at the line again when it ends
        } else if (g->v3) {
            c->sgi_src[intid] = 0;
        } else {
            c->sgi_src[intid] &= ~(1u << src);
            lr |= src << LR_CPUID_SHIFT;
        }
    } else {
        unsigned int w = intid / 32;
        uint32_t bit = 1u << (intid % 32);
        g->queued_w[w] |= bit;
        prio = g->priority[intid];
        if (g->hw_w[w] & bit) {
            g->pending_w[w] &= ~bit;        // pending again only when the hardware says so
            lr |= LR_HW | intid << LR_PHYSID_SHIFT;
        } else if (vgic_spi_edge(g, intid)) {
            g->pending_w[w] &= ~bit;
        } else {
            lr |= LR_EOI;
        }
    }
    c->injected++;
    return lr | (uint32_t)(prio >> 3) << LR_PRIORITY_SHIFT;
}

// The guest has ended the interrupt in list register value `lr`.
static void vgic_retire(vgic_t *g, vgic_cpu_t *c, uint32_t lr) {
    unsigned int intid = LR_VIRTUAL_ID(lr);
    if (intid < 32) {
        c->queued &= ~(1u << intid);
    } else if (intid < VGIC_NR_IRQS) {
        unsigned int w = intid / 32;
        uint32_t bit = 1u << (intid % 32);
        g->queued_w[w] &= ~bit;
        if (!vgic_spi_edge(g, intid) && !(g->hw_w[w] & bit)) {
            // Level: pending again while its line is still up.
            g->pending_w[w] = (g->pending_w[w] & ~bit) | (g->level_w[w] & bit);
        }
    }
}

// -- forwarded interrupts ---------------------------------------------------

// A forwarded SPI, taken on the CPU it is routed to (a vCPU's): pending in
// the distributor until its vCPU queues it. The physical interrupt stays
// active (gic.c ends it with a priority drop alone) until the guest's EOI.
static void vgic_hw_irq(unsigned int intid) {
    vcpu_ctx_t *v = this_cpu()->vm_vcpu;
    if (v == NULL || intid >= VGIC_NR_IRQS) {
        gic_disable_irq(intid);     // no VM here any more
        return;
    }
    vm_t *vm = v->vm;
    vgic_t *g = &vm->vgic;
    uint64_t daif = vgic_lock(g);
    g->pending_w[intid / 32] |= 1u << (intid % 32);
    g->hw_taken++;
    int k = vgic_spi_target(g, intid);
    vgic_unlock(g, daif);
    if (k >= 0 && vm->vcpus[k].cpu != v->cpu) {
        vgic_kick(vm, 1u << k);     // (this CPU's vCPU loads it on its way back in)
    }
}

bool vgic_forward(vm_t *vm, unsigned int intid, bool on) {
    vgic_t *g = &vm->vgic;
    if (!g->present || intid < 32 || intid >= VGIC_NR_IRQS) {
        return false;       // (a virtual GICv3 too: vgic3.c queues it the same way)
    }
    uint32_t bit = 1u << (intid % 32);
    uint64_t daif = vgic_lock(g);
    g->pending_w[intid / 32] &= ~bit;
    if (on) {
        g->hw_w[intid / 32] |= bit;
    } else {
        g->hw_w[intid / 32] &= ~bit;
    }
    vgic_unlock(g, daif);
    if (!on) {
        gic_unforward(intid);
        return true;
    }
    if (!gic_forward(intid, vm->vcpus[0].cpu, vgic_hw_irq)) {
        daif = vgic_lock(g);
        g->hw_w[intid / 32] &= ~bit;
        vgic_unlock(g, daif);
        return false;
    }
    return true;
}

// -- entry and exit -------------------------------------------------------

// The virtual timer's output, from the vCPU's saved CNTV registers.
static bool vtimer_level(const vcpu_ctx_t *v) {
    uint64_t ctl = v->el1.cntv_ctl_el0;
    return (ctl & 3) == 1 && timer_counter() - v->cntvoff >= v->el1.cntv_cval_el0;
}

bool vgic_fill(vcpu_ctx_t *v) {
    vgic_t *g = &v->vm->vgic;
    vgic_cpu_t *c = &g->cpu[v->index];
    if (!c->hw_ready) {
        gic_enable_irq(VGIC_INTID_MAINT);   // banked: this CPU's
        c->hw_ready = true;
    }
    bool leftover = false;
    uint64_t daif = vgic_lock(g);
    if (vtimer_level(v)) {
        c->level |= 1u << VGIC_INTID_VTIMER;
    } else {
        c->level &= ~(1u << VGIC_INTID_VTIMER);
    }
    for (unsigned int i = 0; i < g->n_lr; ++i) {
        if (c->lr_live & (1u << i)) {
            continue;
        }
        unsigned int src = 0;
        int intid = vgic_best(g, c, v->index, &src);
        if (intid < 0) {
            break;
        }
        c->lr[i] = vgic_queue(g, c, intid, src);
        c->lr_live |= 1u << i;
    }
    if (c->lr_live == (1u << g->n_lr) - 1) {
        unsigned int src;
        leftover = vgic_best(g, c, v->index, &src) >= 0;
    }
    vgic_unlock(g, daif);
    // The physical timer interrupt is unmasked only while the guest could
    // take its virtual one: not while that sits in a list register, nor
    // while the guest's distributor keeps it disabled (Linux starts the
    // timer before it enables the interrupt). A level that stays up would
    // otherwise end every entry at once and the guest would never run.
    bool unmask = g->enabled && (c->enabled & ~c->queued & (1u << VGIC_INTID_VTIMER));
    // (The first load of a VM, or after a reboot, writes it whatever the last VM
    // left: the physical enable is the CPU's, not this VM's.)
    if (unmask != c->timer_unmasked || !c->timer_known) {
        if (unmask) {
            gic_enable_irq(VGIC_INTID_VTIMER);
        } else {
            gic_disable_irq(VGIC_INTID_VTIMER);
        }
        c->timer_unmasked = unmask;
        c->timer_known = true;
    }
    return leftover;
}

void vgic_retire_ended(vgic_t *g, vgic_cpu_t *c, uint32_t ended) {
    if (!ended) {
        return;
    }
    uint64_t daif = vgic_lock(g);
    for (; ended; ended &= ended - 1) {
        unsigned int i = __builtin_ctz(ended);
        vgic_retire(g, c, c->lr[i]);
        c->lr_live &= ~(1u << i);
    }
    vgic_unlock(g, daif);
}
