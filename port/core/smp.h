// Secondary CPUs: bring-up, cross-calls, and notifying the CPU that runs Python.
#ifndef CORE_SMP_H
#define CORE_SMP_H

#include <stdbool.h>
#include <stdint.h>

#define SMP_CALL_TIMEOUT_MS 1000
#define SMP_CALL_FINISH_MS  1000    // how long more a call the target has started may take

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

// Run fn on `cpu` (in its IRQ context) and wait; the result says truthfully
// whether fn ran:
//   0            it ran, its results are in `args_and_results`;
//   -ETIMEDOUT   the CPU did not start it within SMP_CALL_TIMEOUT_MS: it was
//                withdrawn and never runs;
//   -EINPROGRESS the CPU started it in time but has not finished it
//                SMP_CALL_FINISH_MS later: it may have done its work (or
//                may still); the next call to that CPU waits for it.
// A call started before the timeout is waited for, so its result is not lost.
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
// Test aid: `cpu` spins for `ticks` inside the next call it serves, after
// starting it, as a CPU its host stops running (or firmware takes over)
// in the middle of a call would.
void smp_stall_next_call(unsigned int cpu, uint64_t ticks);

// Tell CPU 0 that this CPU has Python callbacks to schedule: CPU 0 calls the
// handler registered here, in IRQ context, with the set of CPUs that asked.
void smp_notify_python(void);
void smp_set_python_pending_handler(void (*handler)(uint32_t cpus));
void smp_init_irqs(void);
uint32_t smp_take_python_pending(void);

#endif
