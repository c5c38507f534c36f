// The VM's virtual GICv3 on a GICv3 host (see vgic.h): a GICv3 distributor
// (affinity routing always on) and a redistributor per vCPU, both emulated
// here on the state vgic.c keeps for its GICv2 (vgic_t: the same SPI and
// per-vCPU words, `target` a bit for the vCPU GICD_IROUTER names); the
// guest's CPU interface is the hardware's virtual one (ICV_* behind the
// guest's ICC_* accesses, with HCR_EL2.IMO/FMO), fed through ICH_LR<n>_EL2.
// The guest's SGIs arrive as trapped ICC_SGI1R_EL1 writes.
//
// List registers are kept in vgic_cpu_t.lr in the GICv2 layout (the one
// Python reads in Core.vgic()) and converted on load and save.
//
// Built with -mgeneral-regs-only, as vm.c: it runs in the exit path.
#include "mpconfigboard.h"
#include "cpu.h"
#include "gic.h"
#include "gic3.h"
#include "timer.h"
#include "vgic.h"
#include "vm.h"

#ifdef BOARD_GICR_BASE

#define ICH_VTR_EL2         S3_4_C12_C11_1
#define ICH_VMCR_EL2        S3_4_C12_C11_7
#define ICH_MISR_EL2        S3_4_C12_C11_2
#define ICH_AP0R0_EL2       S3_4_C12_C8_0
#define ICH_AP1R0_EL2       S3_4_C12_C9_0

// ICH_LR<n>_EL2 (GICv3 architecture specification, 12.4.6)
#define LR3_EOI             (1ul << 41)     // (HW = 0) maintenance interrupt when ended
#define LR3_PRIORITY_SHIFT  48
#define LR3_GROUP1          (1ul << 60)
#define LR3_STATE_SHIFT     62
#define LR3_HW              (1ul << 61)     // a hardware interrupt, its pINTID at [41:32]

// ICH_VMCR_EL2 at reset: VBPR0 and VBPR1 at their least (5 priority bits).
#define VMCR_RESET          ((2u << 21) | (3u << 18))

// The guest's distributor (12.9) and redistributors (12.10, 12.11)
#define GICD_CTLR           0x0000
#define GICD_TYPER          0x0004
#define GICD_IIDR           0x0008
#define GICD_IROUTER        0x6000
#define GIC_PIDR2           0xffe8
#define GICD_CTLR_ENABLE_G1 (1u << 1)
#define GICD_CTLR_ARE_NS    (1u << 4)       // affinity routing: always on
#define GICD_CTLR_DS        (1u << 6)       // one security state
#define GICD_TYPER_IDBITS   (9u << 19)      // 10 INTID bits
#define GICD_TYPER_NO1N     (1u << 25)      // no 1-of-N routing
#define GICR_CTLR           0x0000
#define GICR_IIDR           0x0004
#define GICR_TYPER          0x0008
#define GICR_TYPER_LAST     (1u << 4)
#define GICR_SGI_BASE       0x10000
#define IIDR_ARM            0x0000043b      // implementer Arm, no product quirks
#define PIDR2_GICV3         0x3b            // ArchRev 3
// Per-interrupt registers, at the same offsets in GICD and in SGI_base
#define IGROUPR             0x080
#define ISENABLER           0x100
#define ISACTIVER           0x300
#define IPRIORITYR          0x400
#define ICFGR               0xc00

// ICC_SGI1R_EL1 and its kin, as trapped (op0 3, op1 0, CRn 12, CRm 11)
#define SGI1R_OP2           5
#define ASGI1R_OP2          6
#define SGI0R_OP2           7
#define SGIR_IRM            (1ul << 40)

static unsigned int hw_n_lr;

static void vgic3_noop_irq(unsigned int intid) {
    (void)intid;        // the exit it caused is the point: the runner looks at the state
}

bool vgic3_init(vgic_t *g, unsigned int n_cpus) {
    if (hw_n_lr == 0) {
        hw_n_lr = (GIC3_READ(ICH_VTR_EL2) & 0x1f) + 1;
        if (hw_n_lr > VGIC_MAX_LR) {
            hw_n_lr = VGIC_MAX_LR;
        }
        gic_set_handler(VGIC_INTID_MAINT, vgic3_noop_irq);
        gic_set_handler(VGIC_INTID_VTIMER, vgic3_noop_irq);
    }
    g->present = true;
    g->v3 = true;
    g->n_lr = hw_n_lr;
    g->n_cpus = n_cpus;
    for (unsigned int k = 0; k < n_cpus; ++k) {
        g->cpu[k].enabled = 0xffff;         // SGIs enabled until the guest says otherwise
        g->cpu[k].vmcr = VMCR_RESET;
    }
    for (unsigned int i = 32; i < VGIC_NR_IRQS; ++i) {
        g->target[i] = 1;                   // GICD_IROUTER: vCPU 0 until the guest routes it
    }
    return true;
}

// -- list registers -------------------------------------------------------

#define LR_CASE(n, crm, op2) \
    case n: if (write) { GIC3_WRITE(S3_4_C12_##crm##_##op2, val); } else { val = GIC3_READ(S3_4_C12_##crm##_##op2); } break;

// ICH_LR<n>_EL2, read or written by index.
static uint64_t lr_access(unsigned int n, bool write, uint64_t val) {
    switch (n) {
        LR_CASE(0, C12, 0) LR_CASE(1, C12, 1) LR_CASE(2, C12, 2) LR_CASE(3, C12, 3)
        LR_CASE(4, C12, 4) LR_CASE(5, C12, 5) LR_CASE(6, C12, 6) LR_CASE(7, C12, 7)
        LR_CASE(8, C13, 0) LR_CASE(9, C13, 1) LR_CASE(10, C13, 2) LR_CASE(11, C13, 3)
        LR_CASE(12, C13, 4) LR_CASE(13, C13, 5) LR_CASE(14, C13, 6) LR_CASE(15, C13, 7)
        default: break;
    }
    return val;
}

static uint64_t lr_to_v3(uint32_t lr) {
    return LR_VIRTUAL_ID(lr) | LR3_GROUP1
        | (uint64_t)((lr >> 19) & 1) << 41
        | (uint64_t)((lr >> LR_PRIORITY_SHIFT) & 0x1f) << (LR3_PRIORITY_SHIFT + 3)
        | (uint64_t)LR_STATE(lr) << LR3_STATE_SHIFT
        | (lr & LR_HW ? LR3_HW | (uint64_t)((lr >> LR_PHYSID_SHIFT) & 0x3ff) << 32 : 0);
}

static uint32_t lr_from_v3(uint64_t lr) {
    return (uint32_t)(lr & 0x3ff)
        | (uint32_t)((lr >> 41) & 1) << 19
        | (uint32_t)((lr >> (LR3_PRIORITY_SHIFT + 3)) & 0x1f) << LR_PRIORITY_SHIFT
        | (uint32_t)((lr >> LR3_STATE_SHIFT) & 3) << 28
        | (lr & LR3_HW ? LR_HW | (uint32_t)((lr >> 32) & 0x3ff) << LR_PHYSID_SHIFT : 0);
}

// -- entry and exit -------------------------------------------------------

void vgic3_load(vcpu_ctx_t *v) {
    vgic_t *g = &v->vm->vgic;
    vgic_cpu_t *c = &g->cpu[v->index];
    bool leftover = vgic_fill(v);
    GIC3_WRITE(ICH_VMCR_EL2, c->vmcr);
    GIC3_WRITE(ICH_AP0R0_EL2, 0);
    GIC3_WRITE(ICH_AP1R0_EL2, c->apr);
    for (unsigned int i = 0; i < g->n_lr; ++i) {
        lr_access(i, true, (c->lr_live >> i) & 1 ? lr_to_v3(c->lr[i]) : 0);
    }
    uint64_t hcr = ICH_HCR_EN | (leftover ? ICH_HCR_UIE : 0);
    // The guest's ICC_* accesses reach the virtual interface only with
    // HCR_EL2.IMO and FMO set; without, they would be the host's: trapped.
    uint64_t imo_fmo = HCR_EL2_IMO | HCR_EL2_FMO;
    if ((SYSREG_READ(hcr_el2) & imo_fmo) != imo_fmo) {
        hcr |= ICH_HCR_HOST;
    }
    GIC3_WRITE(ICH_HCR_EL2, hcr);
}

void vgic3_save(vcpu_ctx_t *v) {
    vgic_t *g = &v->vm->vgic;
    vgic_cpu_t *c = &g->cpu[v->index];
    if (GIC3_READ(ICH_MISR_EL2)) {
        c->maintenance++;       // this exit was (or could have been) the maintenance interrupt's
    }
    c->vmcr = (uint32_t)GIC3_READ(ICH_VMCR_EL2);
    c->apr = (uint32_t)GIC3_READ(ICH_AP1R0_EL2);
    uint32_t ended = 0;
    for (uint32_t live = c->lr_live; live; live &= live - 1) {
        unsigned int i = __builtin_ctz(live);
        c->lr[i] = lr_from_v3(lr_access(i, false, 0));
        if (LR_STATE(c->lr[i]) == 0) {
            ended |= 1u << i;
        }
    }
    GIC3_WRITE(ICH_HCR_EL2, ICH_HCR_HOST);     // no maintenance interrupt, guests' ICC_* trapped
    vgic_retire_ended(g, c, ended);
}

// -- per-interrupt registers (GICD for SPIs, SGI_base for SGIs and PPIs) --

// One byte of a per-interrupt register at `off` (GICD layout) for vCPU
// `self` (c: its private state). Returns the byte read; *kick collects
// the vCPUs that may have something new.
static uint8_t irq_byte(vm_t *vm, vgic_cpu_t *c, unsigned int self, uint32_t off, bool write,
    uint8_t val, uint32_t *kick) {
    vgic_t *g = &vm->vgic;
    if (off >= IGROUPR && off < ISENABLER) {
        return (off - IGROUPR) * 8 < VGIC_NR_IRQS ? 0xff : 0;     // Group 1, RAO/WI
    }
    if (off >= ISENABLER && off < ISACTIVER) {
        unsigned int reg = (off - ISENABLER) / 0x80;  // 0 set-enable, 1 clear-enable, 2 set-pending, 3 clear-pending
        unsigned int first = ((off - ISENABLER) % 0x80) * 8;
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
        if (first < 16 && reg >= 2) {
            now = 0;                // SGIs: pending while a source has one
            for (unsigned int i = 0; i < 8; ++i) {
                now |= (c->sgi_src[first + i] != 0) << i;
            }
        }
        if (!write) {
            return now;
        }
        if (first < 16 && reg >= 2) {
            for (unsigned int i = 0; i < 8; ++i) {
                if ((val >> i) & 1) {
                    c->sgi_src[first + i] = reg == 2 ? c->sgi_src[first + i] | 1u << self : 0;
                }
            }
        } else if (reg % 2 == 0) {
            *word |= (uint32_t)val << shift;
        } else {
            *word &= ~((uint32_t)val << shift);
        }
        if (reg % 2 == 0 && val) {
            *kick |= first < 32 ? 1u << self : (1u << vm->n_vcpus) - 1;
        }
        return 0;
    }
    if (off >= IPRIORITYR && off < IPRIORITYR + VGIC_NR_IRQS) {
        unsigned int i = off - IPRIORITYR;
        uint8_t *p = i < 32 ? &c->priority[i] : &g->priority[i];
        if (write) {
            *p = val & 0xf8;        // 5 bits of priority, as the list registers hold
        }
        return *p;
    }
    if (off >= ICFGR && off < ICFGR + VGIC_NR_IRQS / 4) {
        unsigned int first = (off - ICFGR) * 4;
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
    return 0;       // active state, group modifiers, NSACR: RAZ/WI
}

// A per-interrupt register access of `size` bytes: for INTIDs below 32 if
// `private`, else for SPIs (the other range reads as zero and ignores writes).
static uint32_t irq_regs(vm_t *vm, unsigned int k, uint32_t off, unsigned int size, bool write,
    uint64_t value, bool private, uint32_t *kick) {
    vgic_cpu_t *c = &vm->vgic.cpu[k];
    uint32_t out = 0;
    for (unsigned int i = 0; i < size; ++i) {
        uint32_t o = off + i;
        // The INTID the byte is about: 8 per byte for bit registers, 4 for ICFGR, 1 for priorities.
        unsigned int intid = o >= ICFGR ? (o - ICFGR) * 4 : o >= IPRIORITYR ? o - IPRIORITYR : (o % 0x80) * 8;
        if ((intid < 32) != private) {
            continue;
        }
        out |= (uint32_t)irq_byte(vm, c, k, o, write, (uint8_t)(value >> (8 * i)), kick) << (8 * i);
    }
    return out;
}

// -- the guest's distributor ----------------------------------------------

static uint64_t vcpu_affinity(const vcpu_ctx_t *v) {
    return v->el1.vmpidr_el2 & 0xff00fffffful;
}

bool vgic3_dist_access(vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value) {
    vm_t *vm = v->vm;
    vgic_t *g = &vm->vgic;
    if (offset & (size - 1)) {
        return false;       // aligned accesses only
    }
    uint32_t kick = 0;
    uint64_t out = 0;
    uint64_t daif = vgic_lock(g);
    if (offset >= GICD_IROUTER + 8 * 32 && offset < GICD_IROUTER + 8 * VGIC_NR_IRQS) {
        // GICD_IROUTER<n>: which vCPU an SPI goes to, by affinity. A 32-bit
        // access to the upper half (Aff3) reads zero and is ignored.
        unsigned int i = (offset - GICD_IROUTER) / 8;
        bool low = (offset & 7) == 0;
        if (write && low) {
            uint64_t aff = *value & (size == 8 ? 0xff00fffffful : 0xfffffful);
            uint8_t t = 0;
            for (unsigned int k = 0; k < vm->n_vcpus; ++k) {
                if (vcpu_affinity(&vm->vcpus[k]) == aff) {
                    t = 1u << k;
                }
            }
            g->target[i] = t;       // none: the SPI reaches no vCPU, as on hardware
            kick = (1u << vm->n_vcpus) - 1;
        }
        int k = vgic_spi_target(g, i);
        out = low && k >= 0 ? vcpu_affinity(&vm->vcpus[k]) : 0;
    } else if (size == 8) {
        vgic_unlock(g, daif);
        return false;       // 64-bit accesses: GICD_IROUTER only
    } else if (offset >= IGROUPR && offset < ICFGR + VGIC_NR_IRQS / 4) {
        out = irq_regs(vm, v->index, offset, size, write, *value, false, &kick);
    } else {
        switch (offset & ~3u) {
            case GICD_CTLR:
                if (write) {
                    g->enabled = (*value >> 1) & 1;     // EnableGrp1 (bit 0, Group 0, is not kept)
                    kick = (1u << vm->n_vcpus) - 1;
                }
                out = GICD_CTLR_ARE_NS | GICD_CTLR_DS | (g->enabled ? GICD_CTLR_ENABLE_G1 : 0);
                break;
            case GICD_TYPER:
                out = (VGIC_NR_IRQS / 32 - 1) | GICD_TYPER_IDBITS | GICD_TYPER_NO1N;
                break;
            case GICD_IIDR:
                out = IIDR_ARM;
                break;
            case GIC_PIDR2:
                out = PIDR2_GICV3;
                break;
            default:
                break;      // GICD_TYPER2, GICD_STATUSR, GICD_SGIR (ARE), the rest: RAZ/WI
        }
        out >>= 8 * (offset & 3);
    }
    vgic_unlock(g, daif);
    if (!write) {
        *value = size == 8 ? out : out & ((1ul << (8 * size)) - 1);
    }
    if (kick) {
        vgic_kick(vm, kick);
    }
    return true;
}

// -- the guest's redistributors -------------------------------------------

bool vgic_redist_access(vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value) {
    vm_t *vm = v->vm;
    vgic_t *g = &vm->vgic;
    unsigned int k = offset / VGIC_GICR_STRIDE;
    uint32_t off = offset % VGIC_GICR_STRIDE;
    if (!g->v3 || k >= vm->n_vcpus || (offset & (size - 1))) {
        return false;
    }
    uint32_t kick = 0;
    uint64_t out = 0;
    if (off >= GICR_SGI_BASE) {
        off -= GICR_SGI_BASE;
        if (size == 8) {
            return false;
        }
        if (off >= IGROUPR && off < ICFGR + 8) {
            uint64_t daif = vgic_lock(g);
            out = irq_regs(vm, k, off, size, write, *value, true, &kick);
            vgic_unlock(g, daif);
        }
    } else {
        switch (off & ~7u) {
            case GICR_CTLR:         // GICR_CTLR (RWP clear, no LPIs) and GICR_IIDR
                out = (uint64_t)IIDR_ARM << 32;
                break;
            case GICR_TYPER:
                // Affinity, processor number, Last on the last vCPU; no LPIs.
                out = (vcpu_affinity(&vm->vcpus[k]) & 0xfffffful) << 32
                    | (vcpu_affinity(&vm->vcpus[k]) >> 32) << 56
                    | (uint64_t)k << 8 | (k == vm->n_vcpus - 1 ? GICR_TYPER_LAST : 0);
                break;
            case GIC_PIDR2 & ~7u:
                out = PIDR2_GICV3;
                break;
            default:
                break;  // GICR_WAKER (awake, never asleep), STATUSR, PROPBASER, PENDBASER...: RAZ/WI
        }
        out >>= 8 * (off & 7);
    }
    if (!write) {
        *value = size == 8 ? out : out & ((1ul << (8 * size)) - 1);
    }
    if (kick) {
        vgic_kick(vm, kick);
    }
    return true;
}

// -- guest SGIs -----------------------------------------------------------

// ESR_EL2's ISS for a trapped MSR/MRS (EC 0x18)
#define ISS_READ(iss)   ((iss) & 1)
#define ISS_RT(iss)     (((iss) >> 5) & 31)
#define ISS_REG(iss)    ((iss) & 0x3ffc1e)     // op0, op2, op1, CRn, CRm
#define ISS_ENC(op0, op1, crn, crm, op2) \
    ((uint32_t)(op0) << 20 | (uint32_t)(op2) << 17 | (uint32_t)(op1) << 14 | (uint32_t)(crn) << 10 | (uint32_t)(crm) << 1)

// ICC_SGI1R_EL1 (12.2.24): the vCPUs whose affinity the value names.
static uint32_t sgi_targets(vm_t *vm, unsigned int self, uint64_t val) {
    uint32_t targets = 0;
    for (unsigned int k = 0; k < vm->n_vcpus; ++k) {
        uint64_t m = vm->vcpus[k].el1.vmpidr_el2;
        if (val & SGIR_IRM) {
            targets |= (k != self) << k;
            continue;
        }
        unsigned int aff0 = m & 0xff;
        bool match = ((m >> 8) & 0xff) == ((val >> 16) & 0xff)      // Aff1
            && ((m >> 16) & 0xff) == ((val >> 32) & 0xff)           // Aff2
            && ((m >> 32) & 0xff) == ((val >> 48) & 0xff)           // Aff3
            && aff0 >> 4 == ((val >> 44) & 0xf)                     // RS
            && ((val >> (aff0 & 0xf)) & 1);                         // TargetList
        targets |= (uint32_t)match << k;
    }
    return targets;
}

bool vgic_sysreg(vcpu_ctx_t *v, uint32_t iss, uint64_t *x) {
    vm_t *vm = v->vm;
    vgic_t *g = &vm->vgic;
    uint32_t reg = ISS_REG(iss);
    bool sgi1 = reg == ISS_ENC(3, 0, 12, 11, SGI1R_OP2) || reg == ISS_ENC(3, 0, 12, 11, ASGI1R_OP2);
    if (!g->v3 || !(sgi1 || reg == ISS_ENC(3, 0, 12, 11, SGI0R_OP2))) {
        return false;
    }
    unsigned int rt = ISS_RT(iss);
    if (ISS_READ(iss)) {
        if (rt != 31) {
            x[rt] = 0;      // write-only registers
        }
        return true;
    }
    if (!sgi1) {
        return true;        // Group 0 SGIs: the guest has no Group 0
    }
    uint64_t val = rt == 31 ? 0 : x[rt];
    unsigned int sgi = (val >> 24) & 0xf;
    uint64_t daif = vgic_lock(g);
    uint32_t targets = sgi_targets(vm, v->index, val);
    for (uint32_t t = targets; t; t &= t - 1) {
        g->cpu[__builtin_ctz(t)].sgi_src[sgi] |= 1u << v->index;
    }
    vgic_unlock(g, daif);
    vgic_kick(vm, targets);
    return true;
}

#else   // a board without GICv3: vgic.c never hands over

bool vgic3_init(vgic_t *g, unsigned int n_cpus) {
    (void)g, (void)n_cpus;
    return false;
}
bool vgic3_dist_access(vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value) {
    (void)v, (void)offset, (void)size, (void)write, (void)value;
    return false;
}
void vgic3_load(vcpu_ctx_t *v) {
    (void)v;
}
void vgic3_save(vcpu_ctx_t *v) {
    (void)v;
}
bool vgic_redist_access(vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value) {
    (void)v, (void)offset, (void)size, (void)write, (void)value;
    return false;
}
bool vgic_sysreg(vcpu_ctx_t *v, uint32_t iss, uint64_t *x) {
    (void)v, (void)iss, (void)x;
    return false;
}

#endif
