// Secondary CPUs: bring-up, cross-calls, and notifying the CPU that runs Python.
#ifndef CORE_SMP_H
#define CORE_SMP_H

#include <stdbool.h>
#include <stdint.h>

#define SMP_CALL_TIMEOUT_MS 1000

typedef struct _smp_mailbox_t smp_mailbox_t;
typedef void (*smp_fn_t)(smp_mailbox_t *mb);

// One per CPU. Arguments and results live in the mailbox itself, so a call
// that times out never leaves the target writing into the caller's stack.
struct _smp_mailbox_t {
    volatile uint32_t state;
    volatile bool awaited;      // a caller is waiting for this call's result
    smp_fn_t fn;
    uint64_t arg[3];
    uint64_t ret[3];
};

void smp_start_secondaries(void);

// Run fn on `cpu` (in its IRQ context) and wait. 0, or -ETIMEDOUT if the call
// did not finish in time: a call the CPU had not started is withdrawn and
// never runs; one it had started finishes on its own, its result lost, and
// the next call to that CPU waits for it.
int smp_call(unsigned int cpu, smp_fn_t fn, smp_mailbox_t *args_and_results);

// The same with a timeout of its own (timeout_ms < 0 waits until the call
// ends), calling idle(idle_arg) while it waits: the caller's own work, such
// as running Python callbacks. While idle() returns true the target is kicked
// with an SGI every 10 ms (a guest running there exits at once). -EBUSY if
// a call to that CPU is already being waited for (from a callback that idle()
// ran): it would take that call's result.
typedef bool (*smp_idle_fn_t)(void *arg);
int smp_call_wait(unsigned int cpu, smp_fn_t fn, smp_mailbox_t *args_and_results, int timeout_ms,
    smp_idle_fn_t idle, void *idle_arg);

// Post without waiting (used by the test aid that makes a CPU unresponsive).
int smp_post(unsigned int cpu, smp_fn_t fn, uint64_t arg0);

// Tell CPU 0 that this CPU has Python callbacks to schedule: CPU 0 calls the
// handler registered here, in IRQ context, with the set of CPUs that asked.
void smp_notify_python(void);
void smp_set_python_pending_handler(void (*handler)(uint32_t cpus));
void smp_init_irqs(void);
uint32_t smp_take_python_pending(void);

#endif
