// A virtual machine's C side (see vm.h): guest memory, stage 2, the vCPU
// runner on each vCPU's CPU, PSCI queries answered in C, MMIO decoding.
//
// Built with -mgeneral-regs-only, as vcpu.c: vm_fast_exit() runs with the
// guest's FP/SIMD registers live.
#include "mpconfigboard.h"
#include "cpu.h"
#include "devicetree.h"
#include "gic.h"
#include "mmu.h"
#include "timer.h"
#include "vm.h"

#define SZ_2M   0x200000ul

// ESR_EL2's ISS for a data abort (Arm ARM D24.2.41, "ISS encoding for an
// exception from a Data Abort").
#define DABT_ISV        (1u << 24)      // the fields below are valid
#define DABT_SAS(iss)   (((iss) >> 22) & 3)     // access size: 1 << SAS bytes
#define DABT_SSE        (1u << 21)      // sign-extend the loaded value
#define DABT_SRT(iss)   (((iss) >> 16) & 31)    // the register (31: xzr)
#define DABT_SF         (1u << 15)      // 64-bit register
#define DABT_S1PTW      (1u << 7)       // the fault was on the guest's own table walk
#define DABT_WNR        (1u << 6)       // a write
#define DABT_DFSC(iss)  ((iss) & 0x3f)
#define DFSC_TRANSLATION(dfsc)  (((dfsc) & 0x3c) == 0x04)   // translation fault, any level

extern char __image_start[];

static uint64_t mmio_load_value(unsigned int size, bool sse, bool sf, uint64_t value);

static vm_t the_vm;                     // one VM at a time
static uint64_t stage2_pool[STAGE2_POOL_PAGES][512] __attribute__((aligned(4096)));

static uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) & ~(a - 1);
}

void vm_guest_memory(uint64_t *base, uint64_t *size) {
    // The RAM range holding the firmware, from the end of its heap on.
    const mem_range_t *ram;
    unsigned int n = mmu_ram_ranges(&ram);
    uint64_t end_fw = align_up((uintptr_t)__heap_end, SZ_2M);
    *base = *size = 0;
    for (unsigned int i = 0; i < n; ++i) {
        uint64_t end = ram[i].base + ram[i].size;
        if (ram[i].base <= end_fw && end_fw < end) {
            *base = end_fw;
            *size = (end - end_fw) & ~(SZ_2M - 1);
        }
    }
}

static void vcpu_init_for_vm(vm_t *vm, unsigned int i, unsigned int cpu, uint64_t mpidr) {
    vcpu_ctx_t *v = &vm->vcpus[i];
    uint64_t *p = (uint64_t *)v;
    for (size_t k = 0; k < sizeof(*v) / 8; ++k) {
        p[k] = 0;
    }
    v->slot = -1;
    v->cpu = cpu;
    v->vm = vm;
    v->index = i;
    v->el1.vmpidr_el2 = (1ul << 31) | mpidr;       // bit 31 is RES1 in MPIDR_EL1
    v->el1.vpidr_el2 = SYSREG_READ(midr_el1);
    vm_vcpu_reset(vm, i, 0, 0);
    // VMIDs 1..VCPU_MAX belong to the lone vCPUs' slots.
    v->vttbr = ((uint64_t)(VCPU_MAX + 1) << 48) | (uintptr_t)vm->s2.pool[0];
    v->vtcr = vm->s2.vtcr;
    v->tlb_fresh = true;
    vm->power[i] = VM_POWER_OFF;
}

// CPU 0 sleeps in WFI while it waits for the vCPUs (vm_host_idle); a vCPU's
// CPU that gives it something to do then wakes it with an SGI. (A WFE loop
// would do on hardware; QEMU's TCG does not sleep on WFE, and CPU 0 spinning
// took a host CPU from the guest's vCPUs.)
static volatile bool host_waiting;

static void vm_wake_host(void) {
    __asm__ volatile ("dsb ish" ::: "memory");      // what we published, before looking
    if (__atomic_load_n(&host_waiting, __ATOMIC_ACQUIRE)) {
        gic_send_sgi(INTID_SGI_KICK, 0);
    }
    __asm__ volatile ("sev");
}

// INTID_SGI_KICK: on a vCPU's CPU, the exit it caused is the point (the
// runner then loads the new interrupt); on CPU 0, the end of its sleep.
static void vm_kick_irq(unsigned int intid) {
    (void)intid;
    vcpu_ctx_t *v = this_cpu()->vm_vcpu;
    if (v != NULL) {
        v->vm->vgic.cpu[v->index].kicks++;
    }
}

void vm_host_idle(vm_t *vm, uint64_t deadline) {
    if (!gic_driven()) {
        __asm__ volatile ("wfe");       // the event stream bounds it
        return;
    }
    uint64_t daif = irq_save();
    __atomic_store_n(&host_waiting, true, __ATOMIC_RELAXED);
    __asm__ volatile ("dsb ish" ::: "memory");      // before looking: a waker sees the flag or we see its work
    bool ready = !vm_post_empty(vm);
    for (unsigned int i = 0; i < vm->n_vcpus && !ready; ++i) {
        ready = __atomic_load_n(&vm->vcpus[i].run_state, __ATOMIC_ACQUIRE) == VM_RUN_EXITED;
    }
    if (!ready) {
        // (At most 10 ms: a safety net, not the mechanism.)
        uint64_t cap = timer_counter() + timer_ms_to_ticks(10);
        timer_wfi_until(deadline && deadline < cap ? deadline : cap);
    }
    __atomic_store_n(&host_waiting, false, __ATOMIC_RELAXED);
    irq_restore(daif);      // the IRQ that woke it (input, a kick, a timer) is taken now
}

vm_t *vm_create(uint64_t ram_size, unsigned int n_vcpus, const unsigned int *cpus,
    const uint64_t *mpidrs, uint64_t ram_block, const char **why) {
    vm_t *vm = &the_vm;
    if (vm->live) {
        *why = "a VM exists already: close() it first (one VM at a time)";
        return NULL;
    }
    uint64_t base, avail;
    vm_guest_memory(&base, &avail);
    gic_set_handler(INTID_SGI_KICK, vm_kick_irq);
    if (ram_size == 0 || ram_size % SZ_2M) {
        *why = "ram must be a positive multiple of 2 MiB";
        return NULL;
    }
    if (ram_size > avail) {
        *why = "not enough free RAM for the guest (see vm.free_ram())";
        return NULL;
    }
    if (n_vcpus == 0 || n_vcpus > VM_MAX_VCPUS) {
        *why = "cpus must be 1..8";
        return NULL;
    }
    for (unsigned int i = 0; i < n_vcpus; ++i) {
        if (cpu_local[cpus[i]].vm_vcpu != NULL) {
            *why = "a CPU it needs still runs a vCPU of an earlier VM that did not stop";
            return NULL;
        }
    }
    if (ram_block != STAGE2_4K && ram_block != STAGE2_2M && ram_block != STAGE2_1G) {
        *why = "stage2_block must be 4 KiB, 2 MiB or 1 GiB";
        return NULL;
    }
    stage2_init(&vm->s2, stage2_pool);
    if (!stage2_map(&vm->s2, VM_RAM_IPA, base, ram_size, STAGE2_NORMAL, ram_block)) {
        *why = ram_block < STAGE2_2M && ram_size / STAGE2_2M + 4 > STAGE2_POOL_PAGES
            ? "guest RAM in 4 KiB pages needs more stage-2 tables than the firmware has: less ram or a larger stage2_block"
            : "guest RAM does not fit the stage-2 address space";
        return NULL;
    }
    vm->ram_pa = base;
    vm->ram_size = ram_size;
    vm->ram_block = ram_block;
    vm->n_vcpus = n_vcpus;
    vm->n_published = vm->n_posted = 0;     // (the_vm is reused: nothing of the last VM's)
    vm->post_head = vm->post_tail = 0;
    #ifdef BOARD_GICV_BASE
    if (vgic_init(&vm->vgic, n_vcpus) && !vm->vgic.v3       // (a GICv3's CPU interface is system registers)
        && !stage2_map(&vm->s2, VM_GICC_IPA, BOARD_GICV_BASE, VM_GICV_SIZE, STAGE2_DEVICE, STAGE2_1G)) {
        *why = "the virtual CPU interface does not fit the stage-2 address space";
        return NULL;
    }
    #else
    vgic_init(&vm->vgic, n_vcpus);
    #endif
    uint64_t cntvoff = timer_counter();     // the guest's virtual counter starts near 0
    for (unsigned int i = 0; i < n_vcpus; ++i) {
        vcpu_init_for_vm(vm, i, cpus[i], mpidrs[i]);
        vm->vcpus[i].cntvoff = cntvoff;
    }
    for (unsigned int i = 0; i < n_vcpus; ++i) {
        cpu_local[cpus[i]].vm_vcpu = &vm->vcpus[i];
    }
    __asm__ volatile ("dsb ish" ::: "memory");
    vm->live = true;
    return vm;
}

bool vm_live(void) {
    return the_vm.live;
}

static bool vcpu_quiet(vcpu_ctx_t *v) {
    uint32_t s = __atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE);
    return s == VM_RUN_IDLE || s == VM_RUN_EXITED;
}

void vm_destroy(vm_t *vm) {
    if (!vm->live) {
        return;
    }
    for (unsigned int i = 0; i < vm->n_vcpus; ++i) {
        vm_vcpu_stop(vm, i);
    }
    // Each runner leaves at its next exit: at once, as the stop request's
    // SGI ends the guest's run. A CPU that does not come back within a
    // second keeps its vCPU pointer (and so its guest) out of later VMs.
    uint64_t deadline = timer_counter() + timer_ms_to_ticks(1000);
    for (unsigned int i = 0; i < vm->n_vcpus; ++i) {
        vcpu_ctx_t *v = &vm->vcpus[i];
        while (!vcpu_quiet(v) && timer_counter() < deadline) {
            __asm__ volatile ("wfe");
        }
        if (vcpu_quiet(v)) {
            cpu_local[v->cpu].vm_vcpu = NULL;
        }
    }
    // Forwarded interrupts back to the host (off, and not left active).
    for (unsigned int i = 32; i < VGIC_NR_IRQS; ++i) {
        if ((vm->vgic.hw_w[i / 32] >> (i % 32)) & 1) {
            vgic_forward(vm, i, false);
        }
    }
    // Stale stage-2 translations of this VMID must not serve the next VM.
    __asm__ volatile ("dsb ish" ::: "memory");
    vm->live = false;
}

void vm_reset_all(void) {
    vm_destroy(&the_vm);
}

static uint8_t *ram_ptr(vm_t *vm, uint64_t ipa, uint64_t len) {
    if (ipa < VM_RAM_IPA || len > vm->ram_size || ipa - VM_RAM_IPA > vm->ram_size - len) {
        return NULL;
    }
    return (uint8_t *)(uintptr_t)(vm->ram_pa + (ipa - VM_RAM_IPA));
}

static void clean_inval_to_poc(uintptr_t start, uint64_t len) {
    for (uintptr_t a = start & ~63ul; a < start + len; a += 64) {
        __asm__ volatile ("dc civac, %0" :: "r" (a) : "memory");
    }
    __asm__ volatile ("dsb sy\n ic iallu\n dsb sy\n isb" ::: "memory");
}

// A plain copy, 16 bytes a step where both ends are 8-byte aligned (loading
// a 30 MB kernel byte by byte took most of a second under QEMU's TCG), a
// kilobyte at a time through a buffer on the stack: QEMU's TCG finds guest
// addresses in a direct-mapped TLB, and a source and a destination a
// multiple of its reach apart (the loader's image and guest RAM are) evict
// each other on every access when the two alternate. Copying 33 MB from the
// loader took 180 ms that way, four times as long as from the heap. On
// hardware the buffer stays in L1. No memcpy: this file is built without it
// (-fno-tree-loop-distribute-patterns).
typedef uint64_t __attribute__((may_alias)) word_t;

static void copy_words(word_t *d, const word_t *s, uint64_t n) {
    for (uint64_t i = 0; i + 2 <= n; i += 2) {
        word_t a = s[i], b = s[i + 1];
        d[i] = a;
        d[i + 1] = b;
    }
}

static void copy_bytes(uint8_t *d, const uint8_t *s, uint64_t len) {
    uint64_t i = 0;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        word_t buf[128];
        for (; i + sizeof buf <= len; i += sizeof buf) {
            copy_words(buf, (const word_t *)(s + i), 128);
            copy_words((word_t *)(d + i), buf, 128);
        }
    }
    for (; i < len; ++i) {
        d[i] = s[i];
    }
}

bool vm_ram_write(vm_t *vm, uint64_t ipa, const void *src, uint64_t len) {
    uint8_t *dst = ram_ptr(vm, ipa, len);
    if (dst == NULL) {
        return false;
    }
    copy_bytes(dst, src, len);
    clean_inval_to_poc((uintptr_t)dst, len);
    return true;
}

bool vm_ram_read(vm_t *vm, uint64_t ipa, void *dst, uint64_t len) {
    uint8_t *src = ram_ptr(vm, ipa, len);
    if (src == NULL) {
        return false;
    }
    // What a guest wrote with its MMU off went straight to memory.
    clean_inval_to_poc((uintptr_t)src, len);
    copy_bytes(dst, src, len);
    return true;
}

bool vm_ram_zero(vm_t *vm, uint64_t ipa, uint64_t len) {
    uint8_t *dst = ram_ptr(vm, ipa, len);
    if (dst == NULL) {
        return false;
    }
    uintptr_t a = (uintptr_t)dst, end = a + len;
    for (; a < end && (a & 63); ++a) {
        *(volatile uint8_t *)a = 0;
    }
    // Plain stores, not DC ZVA: QEMU's TCG runs DC ZVA through a helper call
    // per 64 bytes, twice as slow as these (256 MiB took 0.5 s); on a
    // Cortex-A72 both stream at memory speed.
    for (; a + 64 <= end; a += 64) {
        __asm__ volatile ("stp xzr, xzr, [%0]\n stp xzr, xzr, [%0, #16]\n stp xzr, xzr, [%0, #32]\n stp xzr, xzr, [%0, #48]" :: "r" (a) : "memory");
    }
    for (; a < end; ++a) {
        *(volatile uint8_t *)a = 0;
    }
    clean_inval_to_poc((uintptr_t)dst, len);
    return true;
}

const char *vm_ram_copy_from_pa(vm_t *vm, uint64_t ipa, uint64_t pa, uint64_t len) {
    uint8_t *dst = ram_ptr(vm, ipa, len);
    if (dst == NULL) {
        return "the destination is not in the guest's RAM";
    }
    if (pa + len < pa) {
        return "the source range wraps around";
    }
    uint64_t fw_start = (uintptr_t)__image_start, fw_end = (uintptr_t)__heap_end;
    if (pa < fw_end && fw_start < pa + len) {
        return "the source overlaps the firmware";
    }
    if (pa < vm->ram_pa + vm->ram_size && vm->ram_pa < pa + len) {
        return "the source overlaps the guest's own RAM (a VM zeroes its RAM when it is made: load to another address, or make the VM smaller)";
    }
    const mem_range_t *ram;
    unsigned int n = mmu_ram_ranges(&ram);
    bool in_ram = false;
    for (unsigned int i = 0; i < n; ++i) {
        in_ram |= pa >= ram[i].base && pa + len <= ram[i].base + ram[i].size;
    }
    if (!in_ram) {
        return "the source is not in RAM the firmware maps (aarch64.ram())";
    }
    // The loader wrote it before the firmware's caches were on.
    clean_inval_to_poc((uintptr_t)pa, len);
    copy_bytes(dst, (const uint8_t *)(uintptr_t)pa, len);
    clean_inval_to_poc((uintptr_t)dst, len);
    return NULL;
}

void vm_vcpu_reset(vm_t *vm, unsigned int i, uint64_t pc, uint64_t x0) {
    vcpu_ctx_t *v = &vm->vcpus[i];
    uint64_t vmpidr = v->el1.vmpidr_el2, vpidr = v->el1.vpidr_el2;
    for (int k = 0; k < 31; ++k) {
        v->frame.x[k] = 0;
    }
    v->frame.x[0] = x0;
    v->frame.elr = pc;
    v->frame.spsr = SPSR_EL1H_MASKED;
    v->frame.sp_el0 = 0;
    #define VM_CONTEXT_RESET(reg, reset) v->el1.reg = (reset);
    VCPU_EL1_CONTEXT(VM_CONTEXT_RESET)
    v->el1.sp_el1 = 0;
    v->el1.vmpidr_el2 = vmpidr;         // its identity stays
    v->el1.vpidr_el2 = vpidr;
    v->vm_exit = 0;
    v->run_state = VM_RUN_IDLE;
    // Its CPU may hold this VMID's translations from before (an earlier
    // CPU_OFF, the last boot), which TLBIs done while it was off did not
    // reach (vm_tlbi_local): its first entry drops them.
    v->tlb_fresh = true;
}

// -- the runner ----------------------------------------------------------

void vm_vcpu_start(vm_t *vm, unsigned int i) {
    vcpu_ctx_t *v = &vm->vcpus[i];
    v->stop_req = false;
    __atomic_store_n(&v->run_state, VM_RUN_REQUESTED, __ATOMIC_RELEASE);
    __asm__ volatile ("dsb ish" ::: "memory");
    if (__atomic_load_n(&v->spinning, __ATOMIC_RELAXED)) {
        __asm__ volatile ("sev");                   // its runner waits in WFE for this
    } else {
        gic_send_sgi(INTID_SGI_CALL, v->cpu);       // wakes its idle loop from WFI
    }
}

void vm_vcpu_stop(vm_t *vm, unsigned int i) {
    vcpu_ctx_t *v = &vm->vcpus[i];
    v->stop_req = true;
    __asm__ volatile ("dsb ish" ::: "memory");
    uint32_t s = __atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE);
    if (s == VM_RUN_REQUESTED || s == VM_RUN_RUNNING) {
        gic_send_sgi(INTID_SGI_CALL, v->cpu);   // any IRQ ends the guest's run
    }
}

void vm_vcpu_complete(vm_t *vm, unsigned int i, uint64_t value) {
    vcpu_ctx_t *v = &vm->vcpus[i];
    if (v->vm_exit == VM_EXIT_MMIO) {
        if (!v->exit_args[2] && v->mmio_srt != 31) {       // a load: its value into Rt
            v->frame.x[v->mmio_srt] = mmio_load_value(v->mmio_size, v->mmio_sse, v->mmio_sf, value);
        }
        v->frame.elr += 4;
    } else if (v->vm_exit == VM_EXIT_PSCI) {
        v->frame.x[0] = value;                             // ELR is already past the call
    }
    v->vm_exit = 0;
}

// ESR_EL2's ISS for a trapped MSR/MRS (EC 0x18)
#define SYSREG_ISS_READ         1u              // MRS
#define SYSREG_ISS_RT(iss)      (((iss) >> 5) & 31)
#define SYSREG_ISS_OP0(iss)     (((iss) >> 20) & 3)
#define SYSREG_ISS_OP1(iss)     (((iss) >> 14) & 7)
#define SYSREG_ISS_CRN(iss)     (((iss) >> 10) & 15)
#define SYSREG_ISS_CRM(iss)     (((iss) >> 1) & 15)

// MDCR_EL2 traps the guest's debug and PMU registers (the host's own): to
// the guest they read as zero and ignore writes, a machine with neither
// breakpoints nor counters in use. Linux writes MDSCR_EL1, OSLAR_EL1 and
// PMUSERENR_EL0 as it starts each CPU.
static bool sysreg_raz_wi(uint32_t iss) {
    unsigned int op0 = SYSREG_ISS_OP0(iss), op1 = SYSREG_ISS_OP1(iss);
    unsigned int crn = SYSREG_ISS_CRN(iss), crm = SYSREG_ISS_CRM(iss);
    bool debug = op0 == 2;
    bool pmu = op0 == 3 && ((op1 == 3 && (crn == 9 || (crn == 14 && crm >= 8)))
                            || (op1 == 0 && crn == 9 && crm == 14));
    return debug || pmu;
}

// -- TLB maintenance while one vCPU is on ----------------------------------
// Linux patches its own text early in boot, alone on its boot CPU, through
// the fixmap: tens of thousands of broadcast TLBIs. QEMU's TCG carries out
// each broadcast invalidation on every vCPU thread of the machine and wakes
// the idle ones (CPU 0, CPUs no vCPU uses) to do it. While only one of the
// VM's vCPUs is powered on, no other CPU holds the VM's translations (a
// vCPU that comes on starts with its TLB flushed: vm_vcpu_reset), so its
// runner traps TLB maintenance (HCR_EL2.TTLB) and does it on this CPU alone.
bool vm_one_vcpu_on(const vm_t *vm) {
    unsigned int on = 0;
    for (unsigned int i = 0; i < vm->n_vcpus; ++i) {
        on += __atomic_load_n(&vm->power[i], __ATOMIC_ACQUIRE) != VM_POWER_OFF;
    }
    return on <= 1;
}

#define SYSREG_ISS_OP2(iss)     (((iss) >> 17) & 7)

// A trapped EL1 TLBI (Op0 1, Op1 0, CRn 8), done on this CPU for the guest's
// VMID (the current one): the same operation without the broadcast, or all
// of the VMID's stage 1 entries for an encoding not named here (the range
// and outer-shareable forms: more than asked, never less). False if `iss`
// is not an EL1 TLBI.
static bool vm_tlbi_local(uint32_t iss, const uint64_t *x) {
    if (SYSREG_ISS_OP0(iss) != 1 || SYSREG_ISS_OP1(iss) != 0 || SYSREG_ISS_CRN(iss) != 8
        || (iss & SYSREG_ISS_READ)) {
        return false;
    }
    unsigned int crm = SYSREG_ISS_CRM(iss), rt = SYSREG_ISS_RT(iss);
    uint64_t xt = rt == 31 ? 0 : x[rt];
    switch (crm == 3 || crm == 7 ? SYSREG_ISS_OP2(iss) : 0) {
        case 1: __asm__ volatile ("tlbi vae1, %0" :: "r" (xt) : "memory"); break;
        case 2: __asm__ volatile ("tlbi aside1, %0" :: "r" (xt) : "memory"); break;
        case 3: __asm__ volatile ("tlbi vaae1, %0" :: "r" (xt) : "memory"); break;
        case 5: __asm__ volatile ("tlbi vale1, %0" :: "r" (xt) : "memory"); break;
        case 7: __asm__ volatile ("tlbi vaale1, %0" :: "r" (xt) : "memory"); break;
        default: __asm__ volatile ("tlbi vmalle1" ::: "memory"); break;
    }
    __asm__ volatile ("dsb nsh" ::: "memory");
    return true;
}

// -- registers answered on the vCPU's CPU ---------------------------------

bool vm_publish(vm_t *vm, uint64_t ipa, uint64_t value) {
    for (unsigned int i = 0; i < vm->n_published; ++i) {
        if (vm->published[i].ipa == ipa) {
            __atomic_store_n(&vm->published[i].value, value, __ATOMIC_RELEASE);
            return true;
        }
    }
    if (vm->n_published == VM_MAX_PUBLISHED) {
        return false;
    }
    vm->published[vm->n_published].ipa = ipa;
    vm->published[vm->n_published].value = value;
    __atomic_store_n(&vm->n_published, vm->n_published + 1, __ATOMIC_RELEASE);
    return true;
}

bool vm_post_range(vm_t *vm, uint64_t start, uint64_t size) {
    if (vm->n_posted == VM_MAX_POSTED) {
        return false;
    }
    vm->posted[vm->n_posted].start = start;
    vm->posted[vm->n_posted].end = start + size;
    __atomic_store_n(&vm->n_posted, vm->n_posted + 1, __ATOMIC_RELEASE);
    return true;
}

bool vm_post_take(vm_t *vm, vm_posted_t *out) {
    uint32_t tail = vm->post_tail;
    if (__atomic_load_n(&vm->post_head, __ATOMIC_ACQUIRE) == tail) {
        return false;
    }
    *out = vm->post_ring[tail % VM_POST_RING];
    __atomic_store_n(&vm->post_tail, tail + 1, __ATOMIC_RELEASE);
    return true;
}

// A load from a published register or a store into a posted range: true if
// answered here (*value: what the load reads).
static bool mmio_answer_local(vcpu_ctx_t *v, uint64_t ipa, unsigned int width, bool write, uint64_t *value) {
    vm_t *vm = v->vm;
    if (!write) {
        unsigned int n = __atomic_load_n(&vm->n_published, __ATOMIC_ACQUIRE);
        for (unsigned int i = 0; i < n; ++i) {
            if (vm->published[i].ipa == ipa) {
                *value = __atomic_load_n(&vm->published[i].value, __ATOMIC_ACQUIRE);
                return true;
            }
        }
        return false;
    }
    unsigned int n = __atomic_load_n(&vm->n_posted, __ATOMIC_ACQUIRE);
    for (unsigned int i = 0; i < n; ++i) {
        if (ipa - vm->posted[i].start < vm->posted[i].end - vm->posted[i].start) {
            uint64_t daif = irq_save();
            while (__atomic_exchange_n(&vm->post_lock, 1, __ATOMIC_ACQUIRE)) {
            }
            uint32_t head = vm->post_head;
            bool room = head - __atomic_load_n(&vm->post_tail, __ATOMIC_ACQUIRE) < VM_POST_RING;
            if (room) {
                vm_posted_t *e = &vm->post_ring[head % VM_POST_RING];
                e->ipa = ipa;
                e->value = *value;
                e->width = width;
                e->vcpu = v->index;
                __atomic_store_n(&vm->post_head, head + 1, __ATOMIC_RELEASE);
            }
            __atomic_store_n(&vm->post_lock, 0, __ATOMIC_RELEASE);
            irq_restore(daif);
            if (room) {
                vm_wake_host();     // CPU 0 may be waiting for something to do
            }
            return room;
        }
    }
    return false;
}

// A guest load or store that stage 2 stopped, decoded from its syndrome.
typedef struct {
    uint64_t ipa, value;                // value: what a store writes (to its width)
    unsigned int srt, size;             // register (31: xzr), log2 of the width in bytes
    bool write, sse, sf;
} mmio_access_t;

// Decode a data abort MMIO emulation can serve: a translation fault (no
// mapping) on the guest's own access, with a valid syndrome. False for
// anything else (then it is a fault the VM reports).
static bool mmio_decode(uint64_t esr, uint64_t far, uint64_t hpfar, const uint64_t *x, mmio_access_t *a) {
    uint32_t iss = esr & 0x1ffffff;
    if (!DFSC_TRANSLATION(DABT_DFSC(iss)) || (iss & DABT_S1PTW) || !(iss & DABT_ISV)) {
        return false;
    }
    a->ipa = ((hpfar & 0x00000ffffffffff0ul) << 8) | (far & 0xfff);
    a->write = iss & DABT_WNR;
    a->srt = DABT_SRT(iss);
    a->size = DABT_SAS(iss);
    a->sse = iss & DABT_SSE;
    a->sf = iss & DABT_SF;
    a->value = 0;
    if (a->write && a->srt != 31) {
        a->value = x[a->srt];
        if (a->size < 3) {
            a->value &= (1ul << (8u << a->size)) - 1;
        }
    }
    return true;
}

// What a load puts in its register: `value` cut to the access's width,
// sign-extended if the instruction says so, a W register's upper half zero.
static uint64_t mmio_load_value(unsigned int size, bool sse, bool sf, uint64_t value) {
    unsigned int bits = 8u << size;
    if (bits < 64) {
        value &= (1ul << bits) - 1;
        if (sse && (value >> (bits - 1)) & 1) {
            value |= ~0ul << bits;
        }
    }
    return sf ? value : value & 0xffffffffu;
}

// An access the vCPU's own CPU answers (the distributor, a published
// register, a posted write): true if done.
static bool mmio_local(vcpu_ctx_t *v, const mmio_access_t *a, uint64_t *value) {
    *value = a->value;
    if (v->vm->vgic.present && a->ipa - VM_GICD_IPA < VM_GICD_SIZE) {
        return vgic_dist_access(v, a->ipa - VM_GICD_IPA, 1u << a->size, a->write, value);
    }
    if (v->vm->vgic.v3 && a->ipa - VGIC_GICR_IPA < VGIC_GICR_SIZE) {
        return vgic_redist_access(v, a->ipa - VGIC_GICR_IPA, 1u << a->size, a->write, value);
    }
    return mmio_answer_local(v, a->ipa, 1u << a->size, a->write, value);
}

// Decide on a synchronous exit on the vCPU's CPU: true if CPU 0 must see it.
static bool sync_exit_needs_host(vcpu_ctx_t *v) {
    uint32_t ec = FIELD_GET(ESR_EL2_EC, v->esr);
    mmio_access_t a;
    if (ec == EC_DABT_LOWER && mmio_decode(v->esr, v->far, v->hpfar, v->frame.x, &a)) {
        // For CPU 0: a device model in Python, or no device at all.
        v->mmio_srt = a.srt;
        v->mmio_size = a.size;
        v->mmio_sse = a.sse;
        v->mmio_sf = a.sf;
        v->vm_exit = VM_EXIT_MMIO;
        v->exit_args[0] = a.ipa;
        v->exit_args[1] = 1u << a.size;
        v->exit_args[2] = a.write;
        v->exit_args[3] = a.value;
        return true;
    }
    if (ec == EC_HVC64 || ec == EC_SMC64) {
        // The PSCI calls vm_fast_exit() left: CPU_ON, CPU_OFF, SYSTEM_OFF,
        // SYSTEM_RESET. (An SMC's ELR was stepped past it in vm_exit().)
        v->vm_exit = VM_EXIT_PSCI;
        for (int k = 0; k < 4; ++k) {
            v->exit_args[k] = v->frame.x[k];
        }
        return true;
    }
    v->vm_exit = VM_EXIT_FAULT;
    v->exit_args[0] = v->esr;
    v->exit_args[1] = v->frame.elr;
    v->exit_args[2] = v->far;
    v->exit_args[3] = v->hpfar;
    return true;
}

// After an exit, how long the runner waits for CPU 0's answer before going
// back to sleep in WFI: CPU 0 usually answers within microseconds, and
// waking this CPU from WFI costs an SGI and an IRQ round trip.
#define VM_RESUME_SPIN_US   1000

void vm_service_local(void) {
    vcpu_ctx_t *v = this_cpu()->vm_vcpu;
    uint32_t requested = VM_RUN_REQUESTED;
    if (v == NULL || !__atomic_compare_exchange_n(&v->run_state, &requested,
        VM_RUN_RUNNING, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return;
    }
    for (;;) {
        for (;;) {
            if (v->stop_req) {
                v->vm_exit = VM_EXIT_STOPPED;
                break;
            }
            int kind = vcpu_run_local(v, 0);
            // A host IRQ ended the run; it has been served (vcpu_run_local
            // unmasks IRQs on its way out). Back into the guest.
            if (kind == VCPU_EXIT_IRQ || kind == VCPU_EXIT_TIMEOUT) {
                continue;
            }
            if (kind == VCPU_EXIT_DISABLED) {
                v->vm_exit = VM_EXIT_DISABLED;
                break;
            }
            if (sync_exit_needs_host(v)) {
                break;
            }
        }
        // Publish the exit, then wait a little for the answer (IRQs stay
        // enabled: cross-calls are served meanwhile).
        __atomic_store_n(&v->spinning, true, __ATOMIC_RELAXED);
        __atomic_store_n(&v->run_state, VM_RUN_EXITED, __ATOMIC_RELEASE);
        vm_wake_host();
        uint64_t until = timer_counter() + timer_ms_to_ticks(1) * VM_RESUME_SPIN_US / 1000;
        while (__atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE) != VM_RUN_REQUESTED && timer_counter() < until
               && this_cpu()->vm_vcpu == v) {       // (the VM may be closed meanwhile)
            __asm__ volatile ("wfe");
        }
        // Stop spinning, then look once more: vm_vcpu_start() sends an SGI
        // instead of an event only once it has seen `spinning` clear.
        __atomic_store_n(&v->spinning, false, __ATOMIC_RELAXED);
        __asm__ volatile ("dsb ish" ::: "memory");
        requested = VM_RUN_REQUESTED;
        if (this_cpu()->vm_vcpu != v || !__atomic_compare_exchange_n(&v->run_state, &requested,
            VM_RUN_RUNNING, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return;
        }
    }
}

// -- PSCI answered in C ---------------------------------------------------

static int64_t affinity_info(vm_t *vm, uint64_t mpidr, uint64_t level) {
    if (level != 0) {
        return PSCI_INVALID_PARAMETERS;
    }
    for (unsigned int i = 0; i < vm->n_vcpus; ++i) {
        if ((vm->vcpus[i].el1.vmpidr_el2 & 0xff00fffffful) == (mpidr & 0xff00fffffful)) {
            return __atomic_load_n(&vm->power[i], __ATOMIC_ACQUIRE);
        }
    }
    return PSCI_INVALID_PARAMETERS;
}

static bool psci_supported(uint32_t fn) {
    switch (fn) {
        case PSCI_0_2_VERSION: case PSCI_0_2_CPU_OFF: case PSCI_0_2_CPU_ON: case PSCI_0_2_CPU_ON_64:
        case PSCI_0_2_AFFINITY_INFO: case PSCI_0_2_AFFINITY_INFO_64: case PSCI_0_2_MIGRATE_INFO_TYPE:
        case PSCI_0_2_SYSTEM_OFF: case PSCI_0_2_SYSTEM_RESET: case PSCI_1_0_FEATURES:
            return true;
        default:
            return false;
    }
}

bool vm_fast_exit(vcpu_ctx_t *v, trap_frame_t *frame, uint64_t esr) {
    uint32_t ec = FIELD_GET(ESR_EL2_EC, esr);
    uint32_t iss = esr & 0x1ffffff;
    if (ec == EC_DABT_LOWER) {
        // Answered without leaving the guest's context: no world switch.
        mmio_access_t a;
        uint64_t value;
        if (!mmio_decode(esr, SYSREG_READ(far_el2), SYSREG_READ(hpfar_el2), frame->x, &a)
            || !mmio_local(v, &a, &value)) {
            return false;
        }
        if (!a.write && a.srt != 31) {
            frame->x[a.srt] = mmio_load_value(a.size, a.sse, a.sf, value);
        }
        frame->elr += 4;
        return true;
    }
    if (ec == EC_SYSREG && v->vm->vgic.v3 && vgic_sysreg(v, iss, frame->x)) {
        frame->elr += 4;        // a guest SGI (vgic3.c)
        return true;
    }
    if (ec == EC_SYSREG && vm_tlbi_local(iss, frame->x)) {
        frame->elr += 4;
        return true;
    }
    if (ec == EC_SYSREG && sysreg_raz_wi(iss)) {
        if ((iss & SYSREG_ISS_READ) && SYSREG_ISS_RT(iss) != 31) {
            frame->x[SYSREG_ISS_RT(iss)] = 0;
        }
        frame->elr += 4;
        return true;
    }
    if (ec != EC_HVC64 && ec != EC_SMC64) {
        return false;
    }
    uint32_t fn = (uint32_t)frame->x[0];
    int64_t ret;
    switch (fn) {
        case PSCI_0_2_VERSION:
            ret = PSCI_VERSION_1_0;
            break;
        case PSCI_1_0_FEATURES:
            ret = psci_supported((uint32_t)frame->x[1]) ? PSCI_SUCCESS : PSCI_NOT_SUPPORTED;
            break;
        case PSCI_0_2_MIGRATE_INFO_TYPE:
            ret = PSCI_MIGRATE_NOT_REQUIRED;
            break;
        case PSCI_0_2_AFFINITY_INFO:
        case PSCI_0_2_AFFINITY_INFO_64:
            ret = affinity_info(v->vm, fn == PSCI_0_2_AFFINITY_INFO ? (uint32_t)frame->x[1] : frame->x[1], frame->x[2]);
            break;
        case PSCI_0_2_CPU_OFF: case PSCI_0_2_CPU_ON: case PSCI_0_2_CPU_ON_64:
        case PSCI_0_2_SYSTEM_OFF: case PSCI_0_2_SYSTEM_RESET:
            return false;       // CPU 0 decides
        default:
            // Any other call (SMCCC, other PSCI functions, other HVC or SMC
            // immediates): not supported, never a false success.
            ret = PSCI_NOT_SUPPORTED;
            break;
    }
    frame->x[0] = (uint64_t)ret;
    if (ec == EC_SMC64) {
        frame->elr += 4;        // a trapped SMC returns to itself: step past it
    }
    return true;
}
