// aarch64.cpu_timer(cpu, hz): periodic EL2 timer ticks on another CPU, and
// aarch64.stall_cpu(cpu, ms, in_call=False), a test aid that makes a CPU
// unresponsive: now, or inside the next cross-call it serves, after
// starting it (what a cross-call's timeout must then report truthfully).
#include "py/mperrno.h"
#include "py/runtime.h"
#include "core/cpu.h"
#include "core/smp.h"
#include "core/timer.h"
#include "aarch64.h"

// Per-CPU EL2 timer ticks on secondaries (CPU 0's EL2 timer backs machine.Timer).
static void cpu_timer_call(smp_mailbox_t *mb) {
    timer_cpu_tick_start(mb->arg[0]);
}

static mp_obj_t aarch64_cpu_timer(mp_obj_t cpu_in, mp_obj_t hz_in) {
    unsigned int cpu = aarch64_cpu_arg(cpu_in);
    mp_int_t hz = mp_obj_get_int(hz_in);
    if (cpu == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("CPU 0's EL2 timer backs machine.Timer: use machine.Timer there"));
    }
    if (hz < 0 || hz > 100000) {
        mp_raise_ValueError(MP_ERROR_TEXT("hz must be 0 (off) .. 100000"));
    }
    smp_mailbox_t call = { .arg = { hz ? timer_frequency() / hz : 0 } };
    int err = smp_call(cpu, cpu_timer_call, &call);
    if (err) {
        aarch64_raise_call_error(cpu, err);
    }
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_2(aarch64_cpu_timer_obj, aarch64_cpu_timer);

// Test aid: make a CPU unresponsive for `ms` (it spins with IRQs masked), as a
// hung CPU would be, so the cross-call timeout can be shown.
static void cpu_stall_call(smp_mailbox_t *mb) {
    uint64_t end = timer_counter() + timer_ms_to_ticks(mb->arg[0]);
    while (timer_counter() < end) {
    }
}

static mp_obj_t aarch64_stall_cpu(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 3) {
        mp_raise_TypeError(MP_ERROR_TEXT("stall_cpu(cpu, ms, in_call=False)"));
    }
    unsigned int cpu = aarch64_cpu_arg(args[0]);
    mp_int_t ms = mp_obj_get_int(args[1]);
    mp_obj_t in_call = aarch64_opt_arg(n_args, 3, args, kw, MP_QSTR_in_call,
        MP_ERROR_TEXT("stall_cpu(cpu, ms, in_call=False)"));
    if (cpu == cpu_index() || ms < 0 || ms > 10000) {
        mp_raise_ValueError(MP_ERROR_TEXT("stall_cpu needs another CPU and 0..10000 ms"));
    }
    if (mp_obj_is_true(in_call)) {
        smp_stall_next_call(cpu, timer_ms_to_ticks(ms));
    } else if (smp_post(cpu, cpu_stall_call, ms)) {
        mp_raise_OSError(MP_EBUSY);
    }
    return mp_const_none;
}
MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_stall_cpu_obj, 2, aarch64_stall_cpu);
