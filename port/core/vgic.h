// The VM's virtual GICv2: the guest's distributor is emulated here (its
// state in vgic_t, visible from Python through _vm.Core.vgic()); its CPU
// interface is the hardware's GICV, mapped into the guest at the GICC
// address; interrupts reach it through the list registers of GICH, which
// each vCPU's CPU loads on entry and saves on exit.
//
// Sources of virtual interrupts:
//   - the guest itself: GICD_SGIR (SGIs between vCPUs), GICD_ISPENDR;
//   - the virtual timer (PPI 27), whose level is computed from the vCPU's
//     CNTV registers on each entry; while its interrupt sits in a list
//     register the physical PPI is masked, and the EOI maintenance
//     interrupt (PPI 25) tells the hypervisor when the guest is done;
//   - device models in Python: vgic_set_level() for an SPI line.
// A vCPU running on another CPU is kicked with an SGI (INTID_SGI_KICK) so
// that it leaves the guest and picks the new interrupt up.
//
// On a GICv3 host the same state is a virtual GICv3 (vgic3.c): a GICv3
// distributor, a redistributor per vCPU at VGIC_GICR_IPA, the list
// registers as ICH_LR<n>_EL2, guest SGIs through trapped ICC_SGI1R_EL1
// writes. vgic.c hands each call over when vgic_t.v3 is set.
#ifndef CORE_VGIC_H
#define CORE_VGIC_H

#include <stdbool.h>
#include <stdint.h>

#define VGIC_NR_IRQS        128     // INTIDs 0..127: 16 SGIs, 16 PPIs, 96 SPIs
#define VGIC_WORDS          (VGIC_NR_IRQS / 32)
#define VGIC_MAX_LR         16
#define VGIC_MAX_CPUS       8       // GICv2: 8 CPU interfaces

#define VGIC_INTID_MAINT    25      // the maintenance interrupt (PPI)
#define VGIC_INTID_VTIMER   27      // the EL1 virtual timer (PPI)

// One vCPU's private interrupts (SGIs and PPIs) and its list registers.
typedef struct {
    uint32_t enabled, pending, level, queued;   // a bit per INTID 0..31
    uint8_t priority[32];
    uint8_t sgi_src[16];            // pending SGIs: a bit per source vCPU
    uint32_t lr[VGIC_MAX_LR];       // as saved at the last exit
    uint32_t lr_live;               // which of them hold an interrupt
    uint32_t vmcr, apr;             // the guest's CPU interface state
    bool timer_unmasked;            // the physical PPI 27 is enabled on its CPU
    bool timer_known;               // timer_unmasked says what the GIC has (set at the first load)
    bool hw_ready;                  // PPIs 25/27 set up on its CPU
    // Counters (Python reads them): interrupts put in list registers, exits
    // with the maintenance interrupt up, kicks the host took between runs.
    uint64_t injected, maintenance, kicks;
} vgic_cpu_t;

typedef struct _vgic_t {
    volatile uint32_t lock;
    bool present;                   // the hardware has GICH/GICV (else no vGIC)
    bool v3;                        // a virtual GICv3 (vgic3.c) on a GICv3 host
    bool enabled;                   // GICD_CTLR.Enable, as the guest set it
    unsigned int n_lr;              // list registers (GICH_VTR)
    unsigned int n_cpus;
    // SPIs (words 1..3; word 0 is per vCPU in vgic_cpu_t)
    uint32_t enabled_w[VGIC_WORDS], pending_w[VGIC_WORDS], level_w[VGIC_WORDS];
    uint32_t edge_w[VGIC_WORDS], queued_w[VGIC_WORDS];
    // SPIs forwarded from the hardware (a passthrough device's, vgic_forward):
    // queued with the HW bit, the guest's EOI deactivates the physical one.
    uint32_t hw_w[VGIC_WORDS];
    uint64_t hw_taken;              // physical interrupts of theirs taken (Python reads it)
    uint8_t priority[VGIC_NR_IRQS];
    uint8_t target[VGIC_NR_IRQS];   // ITARGETSR: a bit per vCPU
    vgic_cpu_t cpu[VGIC_MAX_CPUS];
} vgic_t;

struct _vm_t;
struct _vcpu_ctx_t;

// Is there a GICv2 with virtualization extensions to build on? (boot CPU)
bool vgic_probe(void);
// A fresh distributor for a VM of n_cpus vCPUs (false: no vGIC on this machine).
bool vgic_init(vgic_t *g, unsigned int n_cpus);
// A guest access to its distributor (offset within GICD_SIZE); false for
// an access the model refuses (it then stops the VM as a fault).
bool vgic_dist_access(struct _vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value);
// Raise or lower SPI `intid`'s line (a device model). False: not an SPI of the VM.
bool vgic_set_level(struct _vm_t *vm, unsigned int intid, bool level);
// Forward physical SPI `intid` to the VM (on) or give it back (off): it is
// routed to vCPU 0's CPU, taken there, made pending in the distributor and
// queued with the HW bit. False: no vGIC, not an SPI, or the host
// controller cannot.
bool vgic_forward(struct _vm_t *vm, unsigned int intid, bool on);
// On the vCPU's CPU, with IRQs masked: into the list registers before entry,
// out of them after the exit.
void vgic_load(struct _vcpu_ctx_t *v);
void vgic_save(struct _vcpu_ctx_t *v);

// -- Shared by vgic.c and vgic3.c (vgic_state.c) --------------------------

// List registers as vgic_cpu_t.lr keeps them: the GICv2 layout (GICv2
// architecture specification, 5.3.9 GICH_LRn), whatever the hardware.
#define LR_VIRTUAL_ID(lr)   ((lr) & 0x3ff)
#define LR_CPUID_SHIFT      10          // an SGI's source CPU
#define LR_EOI              (1u << 19)  // maintenance interrupt when the guest ends it
#define LR_PRIORITY_SHIFT   23          // the top 5 bits of the priority
#define LR_PENDING          (1u << 28)
#define LR_HW               (1u << 31)  // a hardware interrupt: the guest's EOI deactivates it
#define LR_PHYSID_SHIFT     10          // ... its physical INTID (with LR_HW)
#define LR_STATE(lr)        (((lr) >> 28) & 3)

// The distributor's lock (IRQs masked while held; returns the old DAIF).
uint64_t vgic_lock(vgic_t *g);
void vgic_unlock(vgic_t *g, uint64_t daif);
// vCPUs in `mask` that are inside the guest leave it to load what is new.
void vgic_kick(struct _vm_t *vm, uint32_t mask);
bool vgic_spi_edge(const vgic_t *g, unsigned int intid);
// The vCPU an SPI goes to (-1: none).
int vgic_spi_target(const vgic_t *g, unsigned int intid);
// Before entry, IRQs masked: the virtual timer's level, the free list
// registers (vgic_cpu_t.lr) filled, the physical timer PPI masked or not.
// True: more is pending than fits (ask for the underflow interrupt).
bool vgic_fill(struct _vcpu_ctx_t *v);
// After exit: the list registers in `ended` (a bit each) were ended by the guest.
void vgic_retire_ended(vgic_t *g, vgic_cpu_t *c, uint32_t ended);

// The virtual GICv3 (vgic3.c). Its redistributors, RD_base and SGI_base
// (64 KiB each) per vCPU, as on QEMU virt.
#define VGIC_GICR_IPA       0x080a0000ul
#define VGIC_GICR_STRIDE    0x20000ul
#define VGIC_GICR_SIZE      (VGIC_MAX_CPUS * VGIC_GICR_STRIDE)
// A guest access to the redistributors (offset from VGIC_GICR_IPA); false:
// not a register of this VM's (no vGICv3, or past its last vCPU).
bool vgic_redist_access(struct _vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value);
// A trapped MSR/MRS of a GIC register (ESR's ISS; the guest's x0..x30):
// true if done (ICC_SGI1R_EL1 and its kin), the caller steps past it.
bool vgic_sysreg(struct _vcpu_ctx_t *v, uint32_t iss, uint64_t *x);
// Called by vgic.c for a VM on a GICv3 host.
bool vgic3_init(vgic_t *g, unsigned int n_cpus);
bool vgic3_dist_access(struct _vcpu_ctx_t *v, uint32_t offset, unsigned int size, bool write, uint64_t *value);
void vgic3_load(struct _vcpu_ctx_t *v);
void vgic3_save(struct _vcpu_ctx_t *v);

#endif
