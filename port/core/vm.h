// A virtual machine: guest RAM behind stage 2, vCPUs that each run on their
// own physical CPU, PSCI answered in C where no decision is needed, and the
// exits that need one (MMIO, CPU_ON, SYSTEM_OFF, faults) handed to CPU 0,
// where the Python layer (firmware/vm.py) decides and resumes the vCPU.
//
// The runner: CPU 0 asks (vm_vcpu_start); the vCPU's CPU, in its idle loop,
// enters the guest and keeps re-entering it after each host IRQ until an
// exit needs CPU 0; it then publishes the exit (run state EXITED) and goes
// back to idling, serving cross-calls as usual. A guest runs with the CPU's
// host IRQs taken at EL2, so cross-calls and a stop request reach it.
#ifndef CORE_VM_H
#define CORE_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "stage2.h"
#include "vcpu.h"
#include "vgic.h"

#define VM_MAX_VCPUS        8
#define VM_RAM_IPA          0x40000000ul    // as QEMU virt lays out its RAM
#define VM_GICD_IPA         0x08000000ul    // the emulated distributor, as on virt
#define VM_GICD_SIZE        0x10000ul
#define VM_GICC_IPA         0x08010000ul    // the hardware's GICV, as virt's GICC
#define VM_GICV_SIZE        0x2000ul        // GICC_* up to GICC_DIR

// Run states of a VM vCPU (vcpu_ctx_t.run_state)
enum { VM_RUN_IDLE, VM_RUN_REQUESTED, VM_RUN_RUNNING, VM_RUN_EXITED };

// PSCI's view of a vCPU (AFFINITY_INFO's answers)
enum { VM_POWER_ON = 0, VM_POWER_OFF = 1, VM_POWER_ON_PENDING = 2 };

// Exits that need CPU 0 (vcpu_ctx_t.vm_exit)
#define VM_EXIT_MMIO        1   // a load or store outside RAM: args ipa, size, is_write, value
#define VM_EXIT_PSCI        2   // a PSCI call CPU 0 decides: args function, x1, x2, x3
#define VM_EXIT_FAULT       3   // anything else: ESR, ELR, FAR, HPFAR in the vCPU
#define VM_EXIT_STOPPED     4   // stopped by vm_vcpu_stop()
#define VM_EXIT_DISABLED    5   // HCR_EL2.VM is clear on its CPU

// PSCI 1.0 function IDs and return values (Arm DEN 0022)
#define PSCI_0_2_VERSION            0x84000000u
#define PSCI_0_2_CPU_OFF            0x84000002u
#define PSCI_0_2_CPU_ON             0x84000003u
#define PSCI_0_2_CPU_ON_64          0xC4000003u
#define PSCI_0_2_AFFINITY_INFO      0x84000004u
#define PSCI_0_2_AFFINITY_INFO_64   0xC4000004u
#define PSCI_0_2_MIGRATE_INFO_TYPE  0x84000006u
#define PSCI_0_2_SYSTEM_OFF         0x84000008u
#define PSCI_0_2_SYSTEM_RESET       0x84000009u
#define PSCI_1_0_FEATURES           0x8400000Au
#define PSCI_SUCCESS                0
#define PSCI_NOT_SUPPORTED          (-1)
#define PSCI_INVALID_PARAMETERS     (-2)
#define PSCI_VERSION_1_0            0x10000
#define PSCI_MIGRATE_NOT_REQUIRED   2       // MIGRATE_INFO_TYPE: no Trusted OS to migrate

// Device-model registers answered on the vCPU's own CPU, without a round
// trip to Python on CPU 0 (what makes a console byte cheap):
//   - a published register reads as the value its model last published;
//   - a write inside a posted range is logged in a ring that CPU 0 hands to
//     the models later, in order (KVM's "coalesced MMIO"). A full ring, or
//     any other access to a model, goes the slow way after the ring drains.
#define VM_MAX_PUBLISHED    16
#define VM_MAX_POSTED       4
#define VM_POST_RING        1024        // entries, a power of two

typedef struct { uint64_t ipa, value; } vm_published_t;
typedef struct { uint64_t start, end; } vm_range_t;
typedef struct { uint64_t ipa, value; uint32_t width, vcpu; } vm_posted_t;

typedef struct _vm_t {
    stage2_t s2;
    uint64_t ram_pa, ram_size;          // guest RAM at IPA VM_RAM_IPA
    uint64_t ram_block;                 // its largest stage-2 block (VM_STAGE2_BLOCK)
    unsigned int n_vcpus;
    vcpu_ctx_t vcpus[VM_MAX_VCPUS];
    volatile uint32_t power[VM_MAX_VCPUS];
    vgic_t vgic;                        // its interrupt controller (vgic.present: there is one)
    vm_published_t published[VM_MAX_PUBLISHED];
    unsigned int n_published;
    vm_range_t posted[VM_MAX_POSTED];
    unsigned int n_posted;
    volatile uint32_t post_lock;
    volatile uint32_t post_head, post_tail;     // written by the vCPUs' CPUs / CPU 0
    vm_posted_t post_ring[VM_POST_RING];
    bool live;
} vm_t;

// The largest stage-2 block guest RAM is mapped with, unless the VM asks
// otherwise. On hardware the largest that fit: a TLB entry then covers up to
// a block. QEMU's TCG, though, records each guest TLB entry as large as the
// larger of the two stages' mappings, and a TLBI by address that falls in a
// recorded large page flushes the whole TLB: with 2 MiB blocks every one of
// the guest's TLBIs did, and Linux makes tens of thousands while it boots.
// QEMU virt (only ever QEMU) maps guest RAM in 4 KiB pages.
#ifdef BOARD_STAGE2_RAM_BLOCK
#define VM_STAGE2_BLOCK     BOARD_STAGE2_RAM_BLOCK
#else
#define VM_STAGE2_BLOCK     STAGE2_1G
#endif

// The physical memory guests may use: RAM above the firmware's own.
void vm_guest_memory(uint64_t *base, uint64_t *size);
// Make the VM (one at a time): RAM (2 MiB multiple) mapped at VM_RAM_IPA,
// vCPU i on physical CPU cpus[i] with MPIDR mpidrs[i]. NULL with *why set
// if it cannot be made.
vm_t *vm_create(uint64_t ram_size, unsigned int n_vcpus, const unsigned int *cpus,
    const uint64_t *mpidrs, uint64_t ram_block, const char **why);
bool vm_live(void);
// Stop every vCPU and free the VM (also at soft reset).
void vm_destroy(vm_t *vm);
void vm_reset_all(void);
// Host access to guest RAM by IPA (false outside RAM); writes are cleaned to
// the point of coherency, as a guest with its MMU off reads memory directly.
bool vm_ram_write(vm_t *vm, uint64_t ipa, const void *src, uint64_t len);
bool vm_ram_read(vm_t *vm, uint64_t ipa, void *dst, uint64_t len);
bool vm_ram_zero(vm_t *vm, uint64_t ipa, uint64_t len);
// Copy what a boot loader left in physical RAM at `pa` into guest RAM. Only
// from RAM outside the firmware and outside this guest's own: NULL, or why not.
const char *vm_ram_copy_from_pa(vm_t *vm, uint64_t ipa, uint64_t pa, uint64_t len);

// vCPU i at `pc` with x0, as booting.rst and PSCI CPU_ON start a CPU: EL1h,
// MMU off, interrupts masked, its EL1 registers at their reset values.
void vm_vcpu_reset(vm_t *vm, unsigned int i, uint64_t pc, uint64_t x0);

// At most one of its vCPUs powered on: its runner traps TLB maintenance
// and does it on its own CPU (vm.c).
bool vm_one_vcpu_on(const vm_t *vm);

// Published registers and posted ranges (CPU 0; false when the table is full).
bool vm_publish(vm_t *vm, uint64_t ipa, uint64_t value);
bool vm_post_range(vm_t *vm, uint64_t start, uint64_t size);
// The oldest posted write, if any (CPU 0): true and *out filled.
bool vm_post_take(vm_t *vm, vm_posted_t *out);
static inline bool vm_post_empty(const vm_t *vm) {
    return vm->post_head == vm->post_tail;
}

// CPU 0, waiting for the vCPUs: sleep until an exit, a posted write, an IRQ
// or `deadline` (timer ticks; 0: none).
void vm_host_idle(vm_t *vm, uint64_t deadline);

// Runner (CPU 0 side)
void vm_vcpu_start(vm_t *vm, unsigned int i);
void vm_vcpu_stop(vm_t *vm, unsigned int i);
// Finish an MMIO read (the loaded value into the target register) or a
// PSCI call (x0 = value), and step past the instruction.
void vm_vcpu_complete(vm_t *vm, unsigned int i, uint64_t value);
// Runner (on the vCPU's own CPU): called from the idle loop.
void vm_service_local(void);
// In the exception handler: a call answered without leaving the guest.
bool vm_fast_exit(vcpu_ctx_t *v, trap_frame_t *frame, uint64_t esr);

#endif
