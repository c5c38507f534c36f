// machine.Timer for this port: upstream's API (mode, period, tick_hz, freq,
// callback; init, deinit; ONE_SHOT, PERIODIC) on shared/runtime/softtimer,
// without a scheduler queue slot per period.
//
// Why not extmod/machine_timer.c: it queues one Python callback per period
// with mp_sched_schedule(). CPU 0 runs every Python callback and cannot while
// it waits in C (a cross-call waits up to 1 s for a slow CPU), so a 1 kHz
// timer needed a queue 128 deep, deeper than MicroPython's own tests assume.
// Here the soft timer's C callback (IRQ, CPU 0) counts the period and
// schedules the Python callback through the timer's own mp_sched_node_t: a
// node is queued at most once, and the periods that elapse before the
// callback runs are counted, so none is lost silently. A short backlog (up to
// MACHINE_TIMER_CATCH_UP periods, what MicroPython's default queue holds) is
// delivered as one call per period, as upstream's timer would; a longer one
// as a single call. Inside the callback, Timer.periods() says how many
// periods that call stands for (1 unless Python callbacks were held up for
// longer than that).
#include "py/runtime.h"
#include "py/mphal.h"
#include "shared/runtime/softtimer.h"
#include "machine_timer.h"

#define MACHINE_TIMER_CATCH_UP (4)

typedef struct _machine_timer_obj_t {
    soft_timer_entry_t entry;       // first: the soft timer heap and GC see the object's start
    mp_sched_node_t node;           // queued at most once, whatever the number of periods
    mp_obj_t callback;
    uint32_t pending;               // periods elapsed since the callback last started (IRQ writes)
    uint32_t periods;               // the count handed to the running (or last) callback
    bool armed;                     // in the soft timer heap (IRQ clears it for a fired ONE_SHOT)
    struct _machine_timer_obj_t *next_active;
} machine_timer_obj_t;

// Timers that are armed or have periods waiting for their callback (periods
// that elapsed before deinit() still get it, as a queued callback would on
// upstream's timer). The GC keeps them through this list: a queued node
// points into the middle of its object, which the GC would not take for a
// reference, and a fired ONE_SHOT timer is no longer in the soft timer heap.
MP_REGISTER_ROOT_POINTER(struct _machine_timer_obj_t *machine_timer_active);

static void machine_timer_activate(machine_timer_obj_t *self) {
    for (machine_timer_obj_t *t = MP_STATE_VM(machine_timer_active); t != NULL; t = t->next_active) {
        if (t == self) {
            return;
        }
    }
    self->next_active = MP_STATE_VM(machine_timer_active);
    MP_STATE_VM(machine_timer_active) = self;
}

static void machine_timer_deactivate(machine_timer_obj_t *self) {
    for (machine_timer_obj_t **p = &MP_STATE_VM(machine_timer_active); *p != NULL; p = &(*p)->next_active) {
        if (*p == self) {
            *p = self->next_active;
            return;
        }
    }
}

// Unlink the node from the scheduler's list if it is queued.
static void machine_timer_unqueue(machine_timer_obj_t *self) {
    mp_uint_t state = MICROPY_BEGIN_ATOMIC_SECTION();
    mp_sched_node_t *prev = NULL;
    for (mp_sched_node_t *n = MP_STATE_VM(sched_head); n != NULL; prev = n, n = n->next) {
        if (n == &self->node) {
            if (prev == NULL) {
                MP_STATE_VM(sched_head) = n->next;
            } else {
                prev->next = n->next;
            }
            if (MP_STATE_VM(sched_tail) == n) {
                MP_STATE_VM(sched_tail) = prev;
            }
            break;
        }
    }
    self->node.callback = NULL;
    self->pending = 0;
    MICROPY_END_ATOMIC_SECTION(state);
}

// Scheduler (CPU 0, between bytecodes): run the Python callback for the
// periods counted so far: once per period for a short backlog, else once.
static void machine_timer_run(mp_sched_node_t *node) {
    machine_timer_obj_t *self = (machine_timer_obj_t *)((char *)node - offsetof(machine_timer_obj_t, node));
    mp_uint_t state = MICROPY_BEGIN_ATOMIC_SECTION();
    uint32_t periods = self->pending;
    self->pending = 0;
    MICROPY_END_ATOMIC_SECTION(state);
    if (periods > 0 && self->callback != mp_const_none) {
        uint32_t calls = periods <= MACHINE_TIMER_CATCH_UP ? periods : 1;
        self->periods = periods / calls;
        for (uint32_t i = 0; i < calls; i++) {
            mp_call_function_1_protected(self->callback, MP_OBJ_FROM_PTR(self));
        }
    }
    // Stopped, or a fired ONE_SHOT, with nothing queued: the GC may have it.
    state = MICROPY_BEGIN_ATOMIC_SECTION();
    bool idle = !self->armed && self->node.callback == NULL;
    MICROPY_END_ATOMIC_SECTION(state);
    if (idle) {
        machine_timer_deactivate(self);
    }
}

// Soft timer expiry (IRQ on CPU 0).
static void machine_timer_expired(soft_timer_entry_t *entry) {
    machine_timer_obj_t *self = (machine_timer_obj_t *)entry;
    if (entry->mode == SOFT_TIMER_MODE_ONE_SHOT) {
        self->armed = false;
    }
    if (self->pending != UINT32_MAX) {
        self->pending++;
    }
    mp_sched_schedule_node(&self->node, machine_timer_run);
}

// Disarm; periods that already elapsed keep their queued callback.
static void machine_timer_stop(machine_timer_obj_t *self) {
    mp_uint_t state = MICROPY_BEGIN_ATOMIC_SECTION();
    soft_timer_remove(&self->entry);
    self->armed = false;
    bool idle = self->node.callback == NULL;
    MICROPY_END_ATOMIC_SECTION(state);
    if (idle) {
        machine_timer_deactivate(self);
    }
}

static void machine_timer_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    machine_timer_obj_t *self = MP_OBJ_TO_PTR(self_in);
    qstr mode = self->entry.mode == SOFT_TIMER_MODE_ONE_SHOT ? MP_QSTR_ONE_SHOT : MP_QSTR_PERIODIC;
    mp_printf(print, "Timer(mode=%q, period=%u)", mode, (unsigned)self->entry.delta_ms);
}

static mp_obj_t machine_timer_init_helper(machine_timer_obj_t *self, size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_mode, ARG_callback, ARG_period, ARG_tick_hz, ARG_freq, };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_mode,         MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = SOFT_TIMER_MODE_PERIODIC} },
        { MP_QSTR_callback,     MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_period,       MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0xffffffff} },
        { MP_QSTR_tick_hz,      MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 1000} },
        { MP_QSTR_freq,         MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    mp_int_t mode = args[ARG_mode].u_int;
    if (mode != SOFT_TIMER_MODE_ONE_SHOT && mode != SOFT_TIMER_MODE_PERIODIC) {
        mp_raise_ValueError(MP_ERROR_TEXT("mode must be Timer.ONE_SHOT or Timer.PERIODIC"));
    }
    uint64_t delta_ms = self->entry.delta_ms;
    if (args[ARG_freq].u_obj != mp_const_none) {
        mp_float_t freq = mp_obj_get_float(args[ARG_freq].u_obj);
        if (!(freq > 0)) {
            mp_raise_ValueError(MP_ERROR_TEXT("freq must be positive"));
        }
        delta_ms = (uint64_t)(MICROPY_FLOAT_CONST(1000.0) / freq);
    } else if (args[ARG_period].u_int != 0xffffffff) {
        if (args[ARG_period].u_int < 0 || args[ARG_tick_hz].u_int <= 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("period must be >= 0 and tick_hz positive"));
        }
        delta_ms = (uint64_t)args[ARG_period].u_int * 1000 / args[ARG_tick_hz].u_int;
    }
    if (delta_ms < 1) {
        delta_ms = 1;
    } else if (delta_ms >= 0x40000000) {
        mp_raise_ValueError(MP_ERROR_TEXT("period too large"));
    }
    mp_obj_t callback = args[ARG_callback].u_obj;
    if (callback != MP_OBJ_NULL && callback != mp_const_none && !mp_obj_is_callable(callback)) {
        mp_raise_TypeError(MP_ERROR_TEXT("callback must be callable or None"));
    }

    // Checked: now change the timer.
    self->entry.mode = mode;
    self->entry.delta_ms = (uint32_t)delta_ms;
    if (callback != MP_OBJ_NULL) {
        self->callback = callback;
    }
    if (self->callback != mp_const_none) {
        machine_timer_activate(self);
        self->armed = true;
        soft_timer_insert(&self->entry, self->entry.delta_ms);
    }
    return mp_const_none;
}

static mp_obj_t machine_timer_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_int_t id = -1;
    if (n_args > 0) {
        id = mp_obj_get_int(args[0]);
        --n_args;
        ++args;
    }
    if (id != -1) {
        mp_raise_ValueError(MP_ERROR_TEXT("Timer doesn't exist"));
    }
    machine_timer_obj_t *self = m_new0(machine_timer_obj_t, 1);
    soft_timer_static_init(&self->entry, SOFT_TIMER_MODE_PERIODIC, 1000, machine_timer_expired);
    self->entry.pairheap.base.type = type;
    // GC_ALLOCATED: soft_timer_gc_mark_all marks it, soft_timer_deinit drops it at soft reset.
    self->entry.flags = SOFT_TIMER_FLAG_GC_ALLOCATED;
    self->callback = mp_const_none;
    if (n_args > 0 || n_kw > 0) {
        mp_map_t kw_args;
        mp_map_init_fixed_table(&kw_args, n_kw, args + n_args);
        machine_timer_init_helper(self, n_args, args, &kw_args);
    }
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t machine_timer_init(size_t n_args, const mp_obj_t *args, mp_map_t *kw_args) {
    machine_timer_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    machine_timer_stop(self);
    return machine_timer_init_helper(self, n_args - 1, args + 1, kw_args);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(machine_timer_init_obj, 1, machine_timer_init);

static mp_obj_t machine_timer_deinit(mp_obj_t self_in) {
    machine_timer_stop(MP_OBJ_TO_PTR(self_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(machine_timer_deinit_obj, machine_timer_deinit);

// The number of periods the running callback stands for: 1, or more when
// Python callbacks were held up (CPU 0 busy in C) for more than
// MACHINE_TIMER_CATCH_UP periods.
static mp_obj_t machine_timer_periods(mp_obj_t self_in) {
    machine_timer_obj_t *self = MP_OBJ_TO_PTR(self_in);
    return mp_obj_new_int_from_uint(self->periods);
}
static MP_DEFINE_CONST_FUN_OBJ_1(machine_timer_periods_obj, machine_timer_periods);

// Soft reset: soft_timer_deinit() has dropped the GC-allocated timers; drop
// their queued nodes too, which would otherwise point into the old heap.
void machine_timer_deinit_all(void) {
    for (machine_timer_obj_t *t = MP_STATE_VM(machine_timer_active); t != NULL; t = t->next_active) {
        machine_timer_unqueue(t);
    }
    MP_STATE_VM(machine_timer_active) = NULL;
}

static const mp_rom_map_elem_t machine_timer_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_init), MP_ROM_PTR(&machine_timer_init_obj) },
    { MP_ROM_QSTR(MP_QSTR_deinit), MP_ROM_PTR(&machine_timer_deinit_obj) },
    { MP_ROM_QSTR(MP_QSTR_periods), MP_ROM_PTR(&machine_timer_periods_obj) },
    { MP_ROM_QSTR(MP_QSTR_ONE_SHOT), MP_ROM_INT(SOFT_TIMER_MODE_ONE_SHOT) },
    { MP_ROM_QSTR(MP_QSTR_PERIODIC), MP_ROM_INT(SOFT_TIMER_MODE_PERIODIC) },
};
static MP_DEFINE_CONST_DICT(machine_timer_locals_dict, machine_timer_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    machine_timer_type,
    MP_QSTR_Timer,
    MP_TYPE_FLAG_NONE,
    make_new, machine_timer_make_new,
    print, machine_timer_print,
    locals_dict, &machine_timer_locals_dict
    );
