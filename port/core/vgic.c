// The VM's virtual GICv2 (see vgic.h): an emulated distributor, the
// hardware's virtual CPU interface, list registers loaded on entry and
// saved on exit.
//
// Built with -mgeneral-regs-only, as vm.c: it runs in the exit path.
#include "mpconfigboard.h"
#include "cpu.h"
#include "exception.h"
#include "gic.h"
#include "timer.h"
#include "vgic.h"
#include "vm.h"

#ifdef BOARD_GICH_BASE

#define GICH(off)       (*(volatile uint32_t *)(BOARD_GICH_BASE + (off)))
#define GICH_HCR        0x000
#define GICH_VTR        0x004
#define GICH_VMCR       0x008
#define GICH_MISR       0x010
#define GICH_APR        0x0f0
#define GICH_LR(n)      (0x100 + 4 * (n))
#define GICH_HCR_EN     (1u << 0)
#define GICH_HCR_UIE    (1u << 1)       // maintenance when at most one list register is in use

// A list register (GICv2 architecture specification, 5.3.9 GICH_LRn)
#define LR_VIRTUAL_ID(lr)   ((lr) & 0x3ff)
#define LR_CPUID_SHIFT      10          // an SGI's source CPU
#define LR_EOI              (1u << 19)  // maintenance interrupt when the guest ends it
#define LR_PRIORITY_SHIFT   23          // the top 5 bits of the priority
#define LR_PENDING          (1u << 28)
#define LR_HW               (1u << 31)  // a hardware interrupt: the guest's EOI deactivates it
#define LR_PHYSID_SHIFT     10          // ... its physical INTID (with LR_HW)
#define LR_STATE(lr)        (((lr) >> 28) & 3)

// The guest's distributor (GICv2 architecture specification, 4.3)
#define GICD_CTLR       0x000
#define GICD_TYPER      0x004
#define GICD_IIDR       0x008
#define GICD_IGROUPR    0x080
#define GICD_ISENABLER  0x100
#define GICD_ICENABLER  0x180
#define GICD_ISPENDR    0x200
#define GICD_ICPENDR    0x280
#define GICD_ISACTIVER  0x300
#define GICD_ICACTIVER  0x380
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR  0x800
#define GICD_ICFGR      0xc00
#define GICD_SGIR       0xf00
#define GICD_PIDR2      0xfe8
#define IIDR_ARM_GIC400 0x0200143b      // what a GIC-400 answers
#define PIDR2_GICV2     0x2b            // ArchRev 2

static bool hw_present;
static unsigned int hw_n_lr;

static void vgic_noop_irq(unsigned int intid) {
    (void)intid;        // the exit it caused is the point: the runner looks at the state
}

bool vgic_probe(void) {
    if (gic_kind() != GIC_V2 || !gic_driven()) {
        return false;
    }
    cpu_local_t *cpu = this_cpu();
    guard_begin(cpu);
    uint32_t vtr = guarded_ld32(BOARD_GICH_BASE + GICH_VTR);
    if (guard_end(cpu) || vtr == 0 || vtr == 0xffffffff) {
        return false;
    }
    hw_n_lr = (vtr & 0x3f) + 1;
    if (hw_n_lr > VGIC_MAX_LR) {
        hw_n_lr = VGIC_MAX_LR;
    }
    gic_set_handler(VGIC_INTID_MAINT, vgic_noop_irq);
    gic_set_handler(VGIC_INTID_VTIMER, vgic_noop_irq);
    hw_present = true;
    return true;
}

bool vgic_init(vgic_t *g, unsigned int n_cpus) {
    uint8_t *p = (uint8_t *)g;
    for (size_t i = 0; i < sizeof(*g); ++i) {
        p[i] = 0;
    }
    if (gic_kind() == GIC_V3 && gic_driven()) {
        return vgic3_init(g, n_cpus);           // a virtual GICv3 (vgic3.c)
    }
    if (!hw_present && !vgic_probe()) {
        return false;
    }
    g->present = true;
    g->n_lr = hw_n_lr;
    g->n_cpus = n_cpus;
    for (unsigned int k = 0; k < n_cpus; ++k) {
        g->cpu[k].enabled = 0xffff;         // SGIs are always enabled
    }
    return true;
}

// -- locking and kicking --------------------------------------------------

static uint64_t vgic_lock(vgic_t *g) {
    uint64_t daif = irq_save();
    while (__atomic_exchange_n(&g->lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&g->lock, __ATOMIC_RELAXED)) {
        }
    }
    return daif;
}

static void vgic_unlock(vgic_t *g, uint64_t daif) {
    __atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
    irq_restore(daif);
}

// vCPUs in `mask` may have a new interrupt: those inside the guest leave
// it (and load it on the way back in), the vCPU whose access this is too
// (answered without leaving the guest, it would not see it otherwise). The
// others load it before they next enter.
static void vgic_kick(vm_t *vm, uint32_t mask) {
    for (unsigned int k = 0; k < vm->n_vcpus; ++k) {
        vcpu_ctx_t *v = &vm->vcpus[k];
        if ((mask >> k) & 1 && __atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE) == VM_RUN_RUNNING) {
            gic_send_sgi(INTID_SGI_KICK, v->cpu);
        }
    }
}

// -- interrupt state ------------------------------------------------------

static bool spi_edge(const vgic_t *g, unsigned int intid) {
    return (g->edge_w[intid / 32] >> (intid % 32)) & 1;
}

// The vCPU an SPI goes to: the first in its target list.
static int spi_target(const vgic_t *g, unsigned int intid) {
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
        if (!spi_edge(g, intid) || !was) {
            g->pending_w[w] |= bit;
        }
    } else {
        g->level_w[w] &= ~bit;
        if (!spi_edge(g, intid)) {
            g->pending_w[w] &= ~bit;        // a level interrupt not yet taken goes away with its line
        }
    }
    int k = spi_target(g, intid);
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
            if (spi_target(g, i) == (int)k && g->priority[i] < best_prio) {
                best = i;
                best_prio = g->priority[i];
            }
        }
    }
    return best;
}

// Put interrupt `intid` into a list register value; it counts as queued
// until the guest has ended it.
static uint32_t vgic_queue(vgic_t *g, vgic_cpu_t *c, unsigned int intid, unsigned int src) {
    uint32_t lr = LR_PENDING | intid;
    uint8_t prio;
    if (intid < 32) {
        c->queued |= 1u << intid;
        prio = c->priority[intid];
        if (intid < 16) {
            c->sgi_src[intid] &= ~(1u << src);
            lr |= src << LR_CPUID_SHIFT;
        } else {
            c->pending &= ~(1u << intid);
            lr |= LR_EOI;                   // level: look at the line again when it ends
        }
    } else {
        unsigned int w = intid / 32;
        uint32_t bit = 1u << (intid % 32);
        g->queued_w[w] |= bit;
        prio = g->priority[intid];
        if (g->hw_w[w] & bit) {
            g->pending_w[w] &= ~bit;        // pending again only when the hardware says so
            lr |= LR_HW | intid << LR_PHYSID_SHIFT;
        } else if (spi_edge(g, intid)) {
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
        if (!spi_edge(g, intid) && !(g->hw_w[w] & bit)) {
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
    int k = spi_target(g, intid);
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

void vgic_load(vcpu_ctx_t *v) {
    vgic_t *g = &v->vm->vgic;
    if (!g->present) {
        return;
    }
    if (g->v3) {
        vgic3_load(v);
        return;
    }
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
    GICH(GICH_VMCR) = c->vmcr;
    GICH(GICH_APR) = c->apr;
    for (unsigned int i = 0; i < g->n_lr; ++i) {
        GICH(GICH_LR(i)) = (c->lr_live >> i) & 1 ? c->lr[i] : 0;
    }
    GICH(GICH_HCR) = GICH_HCR_EN | (leftover ? GICH_HCR_UIE : 0);
}

void vgic_save(vcpu_ctx_t *v) {
    vgic_t *g = &v->vm->vgic;
    if (!g->present) {
        return;
    }
    if (g->v3) {
        vgic3_save(v);
        return;
    }
    vgic_cpu_t *c = &g->cpu[v->index];
    if (GICH(GICH_MISR)) {
        c->maintenance++;       // this exit was (or could have been) the maintenance interrupt's
    }
    c->vmcr = GICH(GICH_VMCR);
    c->apr = GICH(GICH_APR);
    uint32_t ended = 0;
    for (uint32_t live = c->lr_live; live; live &= live - 1) {
        unsigned int i = __builtin_ctz(live);
        c->lr[i] = GICH(GICH_LR(i));
        if (LR_STATE(c->lr[i]) == 0) {
            ended |= 1u << i;
        }
    }
    GICH(GICH_HCR) = 0;         // no maintenance interrupt while the host runs
    if (ended) {
        uint64_t daif = vgic_lock(g);
        for (; ended; ended &= ended - 1) {
            unsigned int i = __builtin_ctz(ended);
            vgic_retire(g, c, c->lr[i]);
            c->lr_live &= ~(1u << i);
        }
        vgic_unlock(g, daif);
    }
}

// -- the guest's distributor ----------------------------------------------

// One byte of a per-interrupt register; 8, 4 or 1 interrupts per byte.
// Returns the byte read; a write changes the state. *kick collects the
// vCPUs that may have something new.
static uint8_t dist_byte(vm_t *vm, vgic_cpu_t *c, unsigned int self, uint32_t off, bool write,
    uint8_t val, uint32_t *kick) {
    vgic_t *g = &vm->vgic;
    uint32_t all = (1u << vm->n_vcpus) - 1;
    if (off >= GICD_ISENABLER && off < GICD_ISACTIVER) {
        unsigned int reg = (off - GICD_ISENABLER) / 0x80;      // 0 set-enable, 1 clear-enable, 2 set-pending, 3 clear-pending
        unsigned int first = ((off - GICD_ISENABLER) % 0x80) * 8;
        if (first >= VGIC_NR_IRQS) {
            return 0;
        }
        uint32_t *word;
        if (first < 32) {
            word = reg < 2 ? &c->enabled : &c->pending;
        } else {
            word = reg < 2 ? &g->enabled_w[first / 32] : &g->pending_w[first / 32];
        }
        unsigned int shift = first % 32;
        uint8_t now = *word >> shift;
        if (first == 0 && reg >= 2) {
            // SGIs: pending when a source has one.
            now = 0;
            for (unsigned int i = 0; i < 8; ++i) {
                now |= (c->sgi_src[i] != 0) << i;
            }
        }
        if (!write) {
            return now;
        }
        uint32_t bits = (uint32_t)val << shift;
        if (first < 16 && reg != 0) {
            return 0;       // SGIs stay enabled; their pending state comes from GICD_SGIR
        }
        if (reg % 2 == 0) {
            *word |= bits;
        } else {
            *word &= ~bits;
        }
        if (reg % 2 == 0 && val) {
            *kick |= first < 32 ? 1u << self : all;
        }
        return 0;
    }
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + VGIC_NR_IRQS) {
        unsigned int i = off - GICD_IPRIORITYR;
        uint8_t *p = i < 32 ? &c->priority[i] : &g->priority[i];
        if (write) {
            *p = val & 0xf8;        // 5 bits of priority, as the list registers hold
        }
        return *p;
    }
    if (off >= GICD_ITARGETSR && off < GICD_ITARGETSR + VGIC_NR_IRQS) {
        unsigned int i = off - GICD_ITARGETSR;
        if (i < 32) {
            return 1u << self;      // read-only: the reading CPU's own bit
        }
        if (write) {
            g->target[i] = val & all;
            *kick |= all;
        }
        return g->target[i];
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + VGIC_NR_IRQS / 4) {
        unsigned int first = (off - GICD_ICFGR) * 4;
        if (first < 16) {
            return 0xaa;            // SGIs: edge
        }
        if (first < 32) {
            return 0;               // PPIs: level
        }
        if (write) {
            for (unsigned int j = 0; j < 4; ++j) {
                uint32_t bit = 1u << ((first + j) % 32);
                if ((val >> (2 * j + 1)) & 1) {
                    g->edge_w[(first + j) / 32] |= bit;
                } else {
                    g->edge_w[(first + j) / 32] &= ~bit;
                }
            }
        }
        uint8_t out = 0;
        for (unsigned int j = 0; j < 4; ++j) {
            out |= spi_edge(g, first + j) << (2 * j + 1);
        }
        return out;
    }
    return 0;       // groups, active state, the rest: RAZ/WI
}

static void dist_sgir(vm_t *vm, unsigned int self, uint32_t val, uint32_t *kick) {
    vgic_t *g = &vm->vgic;
    uint32_t all = (1u << vm->n_vcpus) - 1;
    unsigned int sgi = val & 0xf;
    uint32_t targets;
    switch ((val >> 24) & 3) {
        case 0: targets = (val >> 16) & 0xff; break;
        case 1: targets = all & ~(1u << self); break;
        case 2: targets = 1u << self; break;
        default: return;
    }
    targets &= all;
    for (uint32_t t = targets; t; t &= t - 1) {
        g->cpu[__builtin_ctz(t)].sgi_src[sgi] |= 1u << self;
    }
    *kick |= targets;
}

bool vgic_dist_access(vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value) {
    vm_t *vm = v->vm;
    vgic_t *g = &vm->vgic;
    if (g->v3) {
        return vgic3_dist_access(v, offset, size, write, value);
    }
    if (size > 4 || (offset & (size - 1))) {
        return false;       // the distributor takes aligned byte, halfword and word accesses
    }
    vgic_cpu_t *c = &g->cpu[v->index];
    unsigned int self = v->index;
    uint32_t kick = 0;
    uint32_t word_off = offset & ~3u;
    unsigned int shift = 8 * (offset & 3);
    uint64_t daif = vgic_lock(g);
    uint32_t out = 0;
    if (word_off < GICD_IGROUPR || word_off >= GICD_SGIR) {
        // Word registers.
        uint32_t w = write ? (uint32_t)(*value << shift) : 0;
        switch (word_off) {
            case GICD_CTLR:
                if (write) {
                    g->enabled = w & 1;
                    kick = (1u << vm->n_vcpus) - 1;
                }
                out = g->enabled;
                break;
            case GICD_TYPER:
                out = (VGIC_NR_IRQS / 32 - 1) | (vm->n_vcpus - 1) << 5;
                break;
            case GICD_IIDR:
                out = IIDR_ARM_GIC400;
                break;
            case GICD_SGIR:
                if (write && size == 4) {
                    dist_sgir(vm, self, w, &kick);
                }
                break;
            case GICD_PIDR2:
                out = PIDR2_GICV2;
                break;
            default:
                break;
        }
    } else {
        for (unsigned int i = 0; i < size; ++i) {
            uint8_t b = write ? (uint8_t)(*value >> (8 * i)) : 0;
            out |= (uint32_t)dist_byte(vm, c, self, offset + i, write, b, &kick) << (8 * i);
        }
        shift = 0;
    }
    vgic_unlock(g, daif);
    if (!write) {
        *value = (out >> shift) & (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
    }
    if (kick) {
        vgic_kick(vm, kick);
    }
    return true;
}

#else   // a board without GIC virtualization

bool vgic_probe(void) {
    return false;
}

bool vgic_init(vgic_t *g, unsigned int n_cpus) {
    (void)n_cpus;
    g->present = false;
    return false;
}

bool vgic_dist_access(vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value) {
    (void)v, (void)offset, (void)size, (void)write, (void)value;
    return false;
}

bool vgic_set_level(vm_t *vm, unsigned int intid, bool level) {
    (void)vm, (void)intid, (void)level;
    return false;
}

bool vgic_forward(vm_t *vm, unsigned int intid, bool on) {
    (void)vm, (void)intid, (void)on;
    return false;
}

void vgic_load(vcpu_ctx_t *v) {
    (void)v;
}

void vgic_save(vcpu_ctx_t *v) {
    (void)v;
}

#endif
