// IRQ_HANDLER from Python: the IrqHandler type (the firmware's host handler,
// optionally followed by a Python callback), filling a CPU's slot in the core
// once, and reading it back with its counters.
#include "py/runtime.h"
#include "core/cpu.h"
#include "core/gic.h"
#include "core/smp.h"
#include "aarch64.h"

static void irq_handler_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    aarch64_irq_handler_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->callback == mp_const_none) {
        mp_printf(print, "<IrqHandler host>");
    } else {
        mp_printf(print, "<IrqHandler host then ");
        mp_obj_print_helper(print, self->callback, PRINT_REPR);
        mp_printf(print, ">");
    }
}

static mp_obj_t irq_handler_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    if (!mp_obj_is_callable(args[0])) {
        mp_raise_TypeError(MP_ERROR_TEXT("IrqHandler needs a callable"));
    }
    aarch64_irq_handler_obj_t *self = mp_obj_malloc(aarch64_irq_handler_obj_t, type);
    self->callback = args[0];
    return MP_OBJ_FROM_PTR(self);
}

MP_DEFINE_CONST_OBJ_TYPE(
    aarch64_irq_handler_type,
    MP_QSTR_IrqHandler,
    MP_TYPE_FLAG_NONE,
    make_new, irq_handler_make_new,
    print, irq_handler_print
    );

const aarch64_irq_handler_obj_t aarch64_host_irq_handler_obj = {
    { &aarch64_irq_handler_type }, MP_ROM_NONE,
};

// What the IRQ_HANDLER slot runs for a handler with a Python callback: the host
// handler services the interrupt, then the callback is scheduled.
//
// The callback runs as callback(cpu, count): `count` is the number of IRQs
// taken through that CPU's IRQ_HANDLER since its previous call. Python runs
// later than the IRQ (on CPU 0, when the scheduler gets to it), so one call
// may stand for several interrupts; none is lost. Each CPU has its own
// scheduler node, so no queue slot is needed and none can overflow.
static mp_sched_node_t irq_nodes[MAX_CPUS];
static uint32_t irq_undelivered[MAX_CPUS];

static void deliver_irq_callback(mp_sched_node_t *node) {
    unsigned int cpu = node - irq_nodes;
    uint32_t count = __atomic_exchange_n(&irq_undelivered[cpu], 0, __ATOMIC_ACQ_REL);
    mp_obj_t h = cpu_local[cpu].irq_handler_obj;
    if (count && h != MP_OBJ_NULL) {
        aarch64_irq_handler_obj_t *self = MP_OBJ_TO_PTR(h);
        mp_call_function_2_protected(self->callback, MP_OBJ_NEW_SMALL_INT(cpu), mp_obj_new_int_from_uint(count));
    }
}

static void schedule_irq_callback(unsigned int cpu) {
    mp_sched_schedule_node(&irq_nodes[cpu], deliver_irq_callback);
}

static void irq_handler_then_schedule(void) {
    unsigned int cpu = cpu_index();
    host_irq_handler();
    __atomic_fetch_add(&irq_undelivered[cpu], 1, __ATOMIC_ACQ_REL);
    if (cpu == 0) {
        schedule_irq_callback(0);
    } else {
        smp_notify_python();    // CPU 0 schedules it: the scheduler is not SMP-safe
    }
}

// On CPU 0, for the CPUs that asked through smp_notify_python().
static void schedule_pending_callbacks(uint32_t cpus) {
    for (unsigned int cpu = 1; cpu < MAX_CPUS; ++cpu) {
        if (cpus & (1u << cpu)) {
            schedule_irq_callback(cpu);
        }
    }
}

// OnceCell semantics: the first handler stays. Returns true if this call set it.
bool aarch64_irq_handler_set(unsigned int cpu, mp_obj_t handler) {
    if (!mp_obj_is_type(handler, &aarch64_irq_handler_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("handler must be aarch64.HOST_IRQ_HANDLER or an aarch64.IrqHandler"));
    }
    aarch64_irq_handler_obj_t *self = MP_OBJ_TO_PTR(handler);
    if (self->callback == mp_const_none) {
        return cpu_irq_handler_set(cpu, host_irq_handler, handler);
    }
    smp_set_python_pending_handler(schedule_pending_callbacks);
    return cpu_irq_handler_set(cpu, irq_handler_then_schedule, handler);
}

// set_irq_handler(handler, cpu=None), get_irq_handler(cpu=None), irq_counts(cpu=None)
static mp_obj_t aarch64_set_irq_handler(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("set_irq_handler(handler, cpu=None)"));
    }
    unsigned int cpu = aarch64_cpu_arg(aarch64_cpu_kw(n_args, 2, args, kw));
    return mp_obj_new_bool(aarch64_irq_handler_set(cpu, args[0]));
}
MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_set_irq_handler_obj, 1, aarch64_set_irq_handler);

static mp_obj_t aarch64_get_irq_handler(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("get_irq_handler(cpu=None)"));
    }
    unsigned int cpu = aarch64_cpu_arg(aarch64_cpu_kw(n_args, 1, args, kw));
    mp_obj_t h = cpu_local[cpu].irq_handler_obj;
    return h == MP_OBJ_NULL ? mp_const_none : h;
}
MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_get_irq_handler_obj, 0, aarch64_get_irq_handler);

// (through IRQ_HANDLER, all IRQs taken, IRQs on the vCPU vectors with no
// IRQ_HANDLER, per-CPU timer ticks)
static mp_obj_t aarch64_irq_counts(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("irq_counts(cpu=None)"));
    }
    unsigned int cpu = aarch64_cpu_arg(aarch64_cpu_kw(n_args, 1, args, kw));
    cpu_local_t *c = &cpu_local[cpu];
    mp_obj_t t[4] = {
        mp_obj_new_int_from_uint(c->irq_count),
        mp_obj_new_int_from_uint(c->irq_total),
        mp_obj_new_int_from_uint(c->irq_no_handler),
        mp_obj_new_int_from_uint(c->timer_ticks),
    };
    return mp_obj_new_tuple(4, t);
}
MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_irq_counts_obj, 0, aarch64_irq_counts);
