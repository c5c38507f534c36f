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

// -- entry and exit -------------------------------------------------------

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
    bool leftover = vgic_fill(v);
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
    vgic_retire_ended(g, c, ended);
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
            out |= vgic_spi_edge(g, first + j) << (2 * j + 1);
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

void vgic_load(vcpu_ctx_t *v) {
    (void)v;
}

void vgic_save(vcpu_ctx_t *v) {
    (void)v;
}

#endif
