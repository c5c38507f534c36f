// Secondary CPUs. QEMU virt starts them with PSCI CPU_ON, the Pi 4 from the
// spin table. Each comes up on its own stack with its own host vectors, MMU,
// FP/SIMD and GIC CPU interface, then idles in WFI and serves cross-calls:
// CPU 0 (where Python runs) posts a call in the target's mailbox and raises
// an SGI; the target runs it in its IRQ handler, on its own registers.
#include <errno.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "mpconfigboard.h"
#include "cpu.h"
#include "gic.h"
#include "mmu.h"
#include "power.h"
#include "smp.h"
#include "timer.h"
#include "vm.h"

enum { MB_IDLE, MB_POSTED, MB_RUNNING, MB_DONE };

#define SMP_BOOT_TIMEOUT_MS 100

extern char secondary_entry[];

static volatile uint32_t python_pending;   // bit n: CPU n has callbacks for Python
static void (*python_pending_handler)(uint32_t cpus);

static bool mb_claim(volatile uint32_t *state, uint32_t from, uint32_t to) {
    uint32_t expected = from;
    return __atomic_compare_exchange_n(state, &expected, to, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

// On the target CPU: run a posted call, if any. A stall asked for with
// smp_stall_next_call() happens once the call has started.
static void smp_serve_mailbox(void) {
    cpu_local_t *cpu = this_cpu();
    smp_mailbox_t *mb = &cpu->mailbox;
    if (mb_claim(&mb->state, MB_POSTED, MB_RUNNING)) {
        if (__atomic_load_n(&cpu->call_stall_ticks, __ATOMIC_RELAXED)) {
            uint64_t end = timer_counter() + __atomic_exchange_n(&cpu->call_stall_ticks, 0, __ATOMIC_ACQ_REL);
            while (timer_counter() < end) {
            }
        }
        mb->fn(mb);
        __atomic_store_n(&mb->state, MB_DONE, __ATOMIC_RELEASE);
        __asm__ volatile ("sev");
    }
}

void smp_stall_next_call(unsigned int cpu, uint64_t ticks) {
    __atomic_store_n(&cpu_local[cpu].call_stall_ticks, ticks, __ATOMIC_RELEASE);
}

// Tell `cpu` its mailbox holds a call: an SGI, or without a driven GIC an
// event for its WFE (an SEV would also wake the sender's own next WFE, a
// wasted turn of its wait loop when the SGI does the job).
static void smp_signal(unsigned int cpu) {
    if (gic_driven()) {
        __asm__ volatile ("dsb ish" ::: "memory");
        gic_send_sgi(INTID_SGI_CALL, cpu);
    } else {
        __asm__ volatile ("dsb ish\n sev" ::: "memory");
    }
}

static void smp_call_irq(unsigned int intid) {
    (void)intid;
    smp_serve_mailbox();
}

// On CPU 0: callbacks from other CPUs' IRQ_HANDLER, scheduled here because
// MicroPython's scheduler belongs to the CPU that runs Python.
static void smp_notify_irq(unsigned int intid);

int smp_call(unsigned int cpu, smp_fn_t fn, smp_mailbox_t *call) {
    return smp_call_wait(cpu, fn, call, SMP_CALL_TIMEOUT_MS, NULL, NULL);
}

int smp_call_wait(unsigned int cpu, smp_fn_t fn, smp_mailbox_t *call, int timeout_ms,
    smp_idle_fn_t idle, void *idle_arg) {
    if (cpu == cpu_index()) {
        call->fn = fn;
        fn(call);
        return 0;
    }
    smp_mailbox_t *mb = &cpu_local[cpu].mailbox;
    if (mb->awaited) {
        // A call to that CPU is still being waited for further up this stack
        // (this one comes from a callback run while waiting): it would take
        // the other's result.
        return -EBUSY;
    }
    uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : timer_counter() + timer_ms_to_ticks(timeout_ms);
    uint64_t next_kick = 0;
    // A call abandoned earlier may still be finishing: wait for the mailbox.
    for (;;) {
        uint32_t s = __atomic_load_n(&mb->state, __ATOMIC_ACQUIRE);
        if (s == MB_IDLE || (s == MB_DONE && mb_claim(&mb->state, MB_DONE, MB_IDLE))) {
            break;
        }
        if (timer_counter() > deadline) {
            return -ETIMEDOUT;
        }
        __asm__ volatile ("wfe");
    }
    mb->fn = fn;
    for (int i = 0; i < 3; ++i) {
        mb->arg[i] = call->arg[i];
    }
    __atomic_store_n(&mb->state, MB_POSTED, __ATOMIC_RELEASE);
    smp_signal(cpu);
    mb->awaited = true;
    bool started_late = false;
    for (;;) {
        uint32_t s = __atomic_load_n(&mb->state, __ATOMIC_ACQUIRE);
        if (s == MB_DONE) {
            for (int i = 0; i < 3; ++i) {
                call->ret[i] = mb->ret[i];
            }
            mb->awaited = false;
            __atomic_store_n(&mb->state, MB_IDLE, __ATOMIC_RELEASE);
            return 0;
        }
        // The waiter's idle work (Python callbacks); when it asks, kick the
        // target: any IRQ makes a guest running there exit, ending the call.
        if (idle != NULL && idle(idle_arg) && timer_counter() > next_kick) {
            gic_send_sgi(INTID_SGI_CALL, cpu);
            next_kick = timer_counter() + timer_ms_to_ticks(10);
        }
        if (timer_counter() > deadline) {
            // Withdrawn before it started: it never runs, and "timed out"
            // means nothing was done.
            if (mb_claim(&mb->state, MB_POSTED, MB_IDLE)) {
                mb->awaited = false;
                return -ETIMEDOUT;
            }
            // Started: what it does may already be done. Wait for it to end
            // and report its result; if even that takes too long, the CPU
            // is stuck inside it and all one can say is that it may have
            // happened. The next call waits for the mailbox.
            if (!started_late) {
                started_late = true;
                deadline = timer_counter() + timer_ms_to_ticks(SMP_CALL_FINISH_MS);
                continue;
            }
            mb->awaited = false;
            return -EINPROGRESS;
        }
        // Until the target's SEV (or the event stream): this lets an emulator
        // run the other CPU instead of this loop.
        __asm__ volatile ("wfe");
    }
}

int smp_post(unsigned int cpu, smp_fn_t fn, uint64_t arg0) {
    smp_mailbox_t *mb = &cpu_local[cpu].mailbox;
    if (!mb_claim(&mb->state, MB_IDLE, MB_IDLE)) {
        return -EBUSY;
    }
    mb->fn = fn;
    mb->arg[0] = arg0;
    __atomic_store_n(&mb->state, MB_POSTED, __ATOMIC_RELEASE);
    smp_signal(cpu);
    return 0;
}

void smp_notify_python(void) {
    __atomic_fetch_or(&python_pending, 1u << cpu_index(), __ATOMIC_ACQ_REL);
    __asm__ volatile ("dsb ish" ::: "memory");
    gic_send_sgi(INTID_SGI_NOTIFY, 0);
}

uint32_t smp_take_python_pending(void) {
    return __atomic_exchange_n(&python_pending, 0, __ATOMIC_ACQ_REL);
}

void smp_set_python_pending_handler(void (*handler)(uint32_t cpus)) {
    python_pending_handler = handler;
}

static void smp_notify_irq(unsigned int intid) {
    (void)intid;
    uint32_t cpus = smp_take_python_pending();
    if (python_pending_handler) {
        python_pending_handler(cpus);
    }
}

// Polled fallback: CPU 0 has callbacks to schedule for other CPUs.
static bool smp_notify_pending(void) {
    return cpu_index() == 0 && __atomic_load_n(&python_pending, __ATOMIC_ACQUIRE) != 0;
}

void smp_init_irqs(void) {
    gic_set_handler(INTID_SGI_CALL, smp_call_irq);
    gic_set_handler(INTID_SGI_NOTIFY, smp_notify_irq);
    gic_set_poll(INTID_SGI_NOTIFY, smp_notify_pending);
}

static bool smp_release_cpu(unsigned int cpu) {
    #if BOARD_SMP_PSCI
    int64_t ret = psci_call(PSCI_CPU_ON, cpu, (uint64_t)secondary_entry, cpu);
    return ret == 0;
    #else
    volatile uint64_t *slot = (volatile uint64_t *)(BOARD_SPIN_TABLE_BASE + 8 * cpu);
    *slot = (uint64_t)secondary_entry;
    // The waiting CPU reads the slot with its MMU and caches off.
    __asm__ volatile ("dc civac, %0\n dsb sy\n sev" :: "r" (slot) : "memory");
    return true;
    #endif
}

void smp_start_secondaries(void) {
    for (unsigned int cpu = 1; cpu < MAX_CPUS; ++cpu) {
        if (!smp_release_cpu(cpu)) {
            continue;   // PSCI says there is no such CPU: -smp chose fewer
        }
        uint64_t deadline = timer_counter() + timer_ms_to_ticks(SMP_BOOT_TIMEOUT_MS);
        while (!__atomic_load_n(&cpu_local[cpu].online, __ATOMIC_ACQUIRE)) {
            if (timer_counter() > deadline) {
                mp_printf(&mp_plat_print, "[CPU %u did not come up within %u ms: left out]\n",
                    cpu, SMP_BOOT_TIMEOUT_MS);
                break;
            }
            __asm__ volatile ("wfe");
        }
    }
}

// Work for this CPU's idle loop: a posted call, or a vCPU CPU 0 asked to run.
static bool smp_work_pending(void) {
    cpu_local_t *cpu = this_cpu();
    return __atomic_load_n(&cpu->mailbox.state, __ATOMIC_ACQUIRE) == MB_POSTED
        || (cpu->vm_vcpu != NULL && __atomic_load_n(&cpu->vm_vcpu->run_state, __ATOMIC_ACQUIRE) == VM_RUN_REQUESTED);
}

// A secondary CPU, after boot/start.S set up its stack, vectors and MMU.
void secondary_main(uint64_t cpu_id) {
    (void)cpu_id;
    mmu_switch_to_final();
    gic_cpu_init();
    timer_cpu_init();
    cpu_local_online();
    irq_enable();
    for (;;) {
        // Sleep only if nothing is waiting, deciding with IRQs masked: an
        // SGI taken between the check and the WFI would otherwise be served
        // and then slept through (WFI still wakes on an IRQ that is masked).
        irq_disable();
        if (!smp_work_pending()) {
            if (gic_driven()) {
                __asm__ volatile ("wfi");
            } else {
                // No interrupt arrives: wake on the caller's SEV or the event
                // stream, and poll this CPU's interrupt sources (its EL2 timer).
                __asm__ volatile ("wfe");
                irq_enable();
                gic_poll();
                irq_disable();
            }
        }
        irq_enable();           // a pending IRQ is taken here: the SGI serves its call
        // Also serve the mailbox here, so a call is answered even if IRQs were
        // routed away from EL2 on this CPU, or never arrive. Usually the SGI
        // has served it already: one load says so.
        if (__atomic_load_n(&this_cpu()->mailbox.state, __ATOMIC_ACQUIRE) == MB_POSTED) {
            irq_disable();
            smp_serve_mailbox();
            irq_enable();
        }
        // A VM's vCPU assigned to this CPU, if CPU 0 asked it to run.
        if (this_cpu()->vm_vcpu != NULL) {
            vm_service_local();
        }
    }
}
