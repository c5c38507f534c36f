// CPU-local data: one cpu_local_t per CPU, indexed by the logical CPU id.
#include "py/mphal.h"
#include "cpu.h"
#include "smp.h"
#include "timer.h"

cpu_local_t cpu_local[MAX_CPUS];

unsigned int cpu_online_count(void) {
    unsigned int n = 0;
    for (unsigned int i = 0; i < MAX_CPUS; ++i) {
        n += cpu_local[i].online;
    }
    return n;
}

void cpu_local_online(void) {
    cpu_local_t *cpu = this_cpu();
    cpu->mpidr = SYSREG_READ(mpidr_el1);
    __atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
    __asm__ volatile ("dsb ish\n sev" ::: "memory");
}

// OnceCell semantics, as the reference's IRQ_HANDLER: the first handler stays.
bool cpu_irq_handler_set(unsigned int cpu, irq_handler_fn_t fn, void *obj) {
    cpu_local_t *c = &cpu_local[cpu];
    if (c->irq_handler != NULL) {
        return false;
    }
    c->irq_handler_obj = obj;
    __atomic_store_n(&c->irq_handler, fn, __ATOMIC_RELEASE);
    return true;
}

static void restore_boot_state_call(smp_mailbox_t *mb) {
    (void)mb;
    SYSREG_WRITE(vbar_el2, host_exception_vectors);
    SYSREG_WRITE(hcr_el2, HCR_EL2_BOOT);
    isb();
    if (cpu_index() != 0) {
        timer_cpu_tick_start(0);
    }
}

void cpu_restore_boot_state_all(void) {
    for (unsigned int cpu = 0; cpu < MAX_CPUS; ++cpu) {
        cpu_local_t *c = &cpu_local[cpu];
        c->irq_handler = NULL;
        c->irq_handler_obj = NULL;
        if (c->online) {
            smp_mailbox_t call = { 0 };
            if (smp_call(cpu, restore_boot_state_call, &call)) {
                mp_printf(&mp_plat_print, "[CPU %u did not answer the soft reset]\n", cpu);
            }
        }
    }
}
