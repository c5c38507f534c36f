// The `aarch64` module: system registers by name or encoding, guarded against
// faults; the two vector tables; the per-CPU IRQ_HANDLER slots.
#include <stdio.h>
#include <string.h>

#include "py/mperrno.h"
#include "py/objint.h"
#include "py/runtime.h"
#include "genhdr/sysregs.h"
#include "aarch64.h"
#include "cpu.h"
#include "exception.h"
#include "smp.h"
#include "sysreg.h"
#include "timer.h"

#define ENC_VBAR_EL2 SYSREG_ENC(3, 4, 12, 0, 0)

// ---------------------------------------------------------------------------
// aarch64.Fault: an OSError (errno EFAULT) carrying ESR_EL2 and FAR_EL2.
// args = (EFAULT, message, esr, far)

static void fault_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    mp_obj_exception_t *self = MP_OBJ_TO_PTR(self_in);
    if ((kind & ~PRINT_EXC_SUBCLASS) == PRINT_REPR) {
        mp_obj_exception_print(print, self_in, kind);
        return;
    }
    if (kind == PRINT_EXC) {
        mp_printf(print, "%q: ", (qstr)self->base.type->name);
    }
    if (self->args->len >= 2) {
        mp_obj_print_helper(print, self->args->items[1], PRINT_STR);
    }
}

static void fault_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    mp_obj_exception_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL && self->args->len == 4) {
        if (attr == MP_QSTR_esr) {
            dest[0] = self->args->items[2];
            return;
        }
        if (attr == MP_QSTR_far) {
            dest[0] = self->args->items[3];
            return;
        }
    }
    mp_obj_exception_attr(self_in, attr, dest);
}

MP_DEFINE_CONST_OBJ_TYPE(
    aarch64_fault_type,
    MP_QSTR_Fault,
    MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, fault_print,
    attr, fault_attr,
    parent, &mp_type_OSError
    );

void aarch64_raise_fault(uint64_t esr, uint64_t far, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    uint32_t ec = (esr >> 26) & 0x3f;
    size_t n = strlen(msg);
    snprintf(msg + n, sizeof(msg) - n, " faulted: ESR_EL2=0x%08lx (EC 0x%02x %s)",
        (unsigned long)esr, (unsigned)ec, exception_class_name(ec));
    mp_obj_t args[4] = {
        MP_OBJ_NEW_SMALL_INT(MP_EFAULT),
        mp_obj_new_str(msg, strlen(msg)),
        mp_obj_new_int_from_uint(esr),
        mp_obj_new_int_from_uint(far),
    };
    nlr_raise(mp_obj_exception_make_new(&aarch64_fault_type, 4, 0, args));
}

NORETURN void aarch64_raise_timeout(unsigned int cpu) {
    char msg[64];
    snprintf(msg, sizeof(msg), "CPU %u did not answer within %u ms", cpu, SMP_CALL_TIMEOUT_MS);
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(MP_ETIMEDOUT), mp_obj_new_str(msg, strlen(msg)) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

// ---------------------------------------------------------------------------
// Arguments

unsigned int aarch64_cpu_arg(mp_obj_t cpu_in) {
    if (cpu_in == mp_const_none) {
        return cpu_index();
    }
    if (!mp_obj_is_int(cpu_in)) {
        mp_raise_TypeError(MP_ERROR_TEXT("cpu must be an int or None"));
    }
    mp_int_t cpu = mp_obj_get_int(cpu_in);
    if (cpu < 0 || cpu >= MAX_CPUS || !cpu_local[cpu].online) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("CPU %d is not online (online: %u)"),
            (int)cpu, cpu_online_count());
    }
    return cpu;
}

uint64_t aarch64_u64_arg(mp_obj_t value_in) {
    if (!mp_obj_is_int(value_in)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("value must be an int, not %s"),
            mp_obj_get_type_str(value_in));
    }
    if (mp_obj_is_small_int(value_in)) {
        mp_int_t v = MP_OBJ_SMALL_INT_VALUE(value_in);
        if (v >= 0) {
            return v;
        }
    } else if (mp_obj_int_sign(value_in) >= 0) {
        uint8_t buf[16];
        memset(buf, 0, sizeof(buf));
        mp_obj_int_to_bytes_impl(value_in, false, sizeof(buf), buf);
        uint64_t hi, lo;
        memcpy(&lo, buf, 8);
        memcpy(&hi, buf + 8, 8);
        if (hi == 0) {
            return lo;
        }
    }
    mp_raise_msg(&mp_type_OverflowError, MP_ERROR_TEXT("value must be in 0 .. 2**64-1"));
}

// Case-insensitive edit distance, for "did you mean" suggestions.
static size_t name_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31) {
        return 99;
    }
    size_t row[32];
    for (size_t j = 0; j <= lb; ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; ++j) {
            size_t up = row[j];
            char ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
            size_t best = diag + (ca != cb);
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            if (up + 1 < best) {
                best = up + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static NORETURN void raise_unknown_register(qstr name) {
    // The three closest names.
    size_t best[3] = { SIZE_MAX, SIZE_MAX, SIZE_MAX };
    size_t dist[3] = { SIZE_MAX, SIZE_MAX, SIZE_MAX };
    for (size_t i = 0; i < MP_ARRAY_SIZE(sysreg_table); ++i) {
        size_t d = name_distance(qstr_str(name), qstr_str(sysreg_table[i].name));
        for (size_t k = 0; k < 3; ++k) {
            if (d < dist[k]) {
                for (size_t m = 2; m > k; --m) {
                    dist[m] = dist[m - 1];
                    best[m] = best[m - 1];
                }
                dist[k] = d;
                best[k] = i;
                break;
            }
        }
    }
    mp_raise_msg_varg(&mp_type_ValueError,
        MP_ERROR_TEXT("unknown system register '%q'; closest: %q, %q, %q"), name,
        sysreg_table[best[0]].name, sysreg_table[best[1]].name, sysreg_table[best[2]].name);
}

static void sysreg_from_table(aarch64_sysreg_t *out, const sysreg_def_t *def) {
    out->enc = def->enc;
    out->writable = def->writable;
    out->name = def->name;
    out->owned = def->owned;
    out->owned_names = def->owned_names;
}

void aarch64_sysreg_arg(mp_obj_t reg_in, aarch64_sysreg_t *out) {
    if (mp_obj_is_str(reg_in)) {
        qstr name = mp_obj_str_get_qstr(reg_in);
        for (size_t i = 0; i < MP_ARRAY_SIZE(sysreg_table); ++i) {
            if (sysreg_table[i].name == name) {
                sysreg_from_table(out, &sysreg_table[i]);
                return;
            }
        }
        raise_unknown_register(name);
    }
    if (mp_obj_is_type(reg_in, &mp_type_tuple)) {
        size_t len;
        mp_obj_t *items;
        mp_obj_tuple_get(reg_in, &len, &items);
        static const uint8_t limit[5] = { 4, 8, 16, 16, 8 };
        mp_int_t f[5];
        if (len != 5) {
            mp_raise_ValueError(MP_ERROR_TEXT("encoding must be (op0, op1, CRn, CRm, op2)"));
        }
        for (size_t i = 0; i < 5; ++i) {
            f[i] = mp_obj_get_int(items[i]);
            if (f[i] < 0 || f[i] >= limit[i]) {
                mp_raise_ValueError(MP_ERROR_TEXT("encoding field out of range (op0 2..3, op1 0..7, CRn 0..15, CRm 0..15, op2 0..7)"));
            }
        }
        if (f[0] < 2) {
            mp_raise_ValueError(MP_ERROR_TEXT("op0 must be 2 or 3 (0 and 1 are not registers)"));
        }
        // A known register named by its encoding keeps its access rules.
        uint32_t enc = SYSREG_ENC(f[0], f[1], f[2], f[3], f[4]);
        for (size_t i = 0; i < MP_ARRAY_SIZE(sysreg_table); ++i) {
            if (sysreg_table[i].enc == enc) {
                sysreg_from_table(out, &sysreg_table[i]);
                return;
            }
        }
        *out = (aarch64_sysreg_t){ .enc = enc, .writable = true, .name = MP_QSTRnull, .owned_names = "" };
        return;
    }
    mp_raise_msg_varg(&mp_type_TypeError,
        MP_ERROR_TEXT("register must be a name (str) or (op0, op1, CRn, CRm, op2), not %s"),
        mp_obj_get_type_str(reg_in));
}

static void describe_reg(char *buf, size_t len, const aarch64_sysreg_t *reg) {
    if (reg->name != MP_QSTRnull) {
        snprintf(buf, len, "%s", qstr_str(reg->name));
    } else {
        snprintf(buf, len, "S%u_%u_C%u_C%u_%u", 2 + ((reg->enc >> 14) & 1), (reg->enc >> 11) & 7,
            (reg->enc >> 7) & 15, (reg->enc >> 3) & 15, reg->enc & 7);
    }
}

// Check a write before it is carried out: nothing is written when this
// raises. Besides type and range (checked by the caller): read-only registers
// and VBAR_EL2 (aligned, and one of the firmware's two tables, which the
// firmware itself takes its exceptions through). The bits the firmware runs
// on (sysregs.FIRMWARE_OWNED) are checked by the access itself, on its CPU.
void aarch64_check_write(const aarch64_sysreg_t *reg, uint64_t value) {
    if (!reg->writable) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q is read-only"), reg->name);
    }
    if (reg->enc == ENC_VBAR_EL2) {
        if (value & 0x7ff) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("VBAR_EL2 must be 2 KiB aligned, got 0x%lx"), (unsigned long)value);
        }
        if (value != (uintptr_t)host_exception_vectors && value != (uintptr_t)exception_vector_base_vcpu) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("VBAR_EL2 may hold HOST_VECTORS (0x%lx) or VCPU_VECTORS (0x%lx), not 0x%lx"),
                (unsigned long)(uintptr_t)host_exception_vectors,
                (unsigned long)(uintptr_t)exception_vector_base_vcpu, (unsigned long)value);
        }
    }
}

// Carry out one access on `cpu`: aarch64.Fault if it faulted, ValueError if
// a write would have changed bits the firmware runs on.
uint64_t aarch64_sysreg_access(unsigned int cpu, const aarch64_sysreg_t *reg, bool write, uint64_t value) {
    sysreg_result_t r = sysreg_access_on(cpu, reg->enc, write, value, write ? reg->owned : 0);
    if (r.error) {
        aarch64_raise_timeout(cpu);
    }
    if (r.refused) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("%q bits 0x%lx (%s) are the firmware's own: write them unchanged"),
            reg->name, (unsigned long)((r.value ^ value) & reg->owned), reg->owned_names);
    }
    if (r.faulted) {
        char name[32];
        describe_reg(name, sizeof(name), reg);
        aarch64_raise_fault(r.esr, 0, "%s of %s on CPU %u", write ? "write" : "read", name, cpu);
    }
    return r.value;
}

// ---------------------------------------------------------------------------
// Module functions

static mp_obj_t aarch64_current_el(void) {
    return MP_OBJ_NEW_SMALL_INT((SYSREG_READ(CurrentEL) >> 2) & 3);
}
static MP_DEFINE_CONST_FUN_OBJ_0(aarch64_current_el_obj, aarch64_current_el);

static mp_obj_t aarch64_cpu_id(void) {
    return MP_OBJ_NEW_SMALL_INT(cpu_index());
}
static MP_DEFINE_CONST_FUN_OBJ_0(aarch64_cpu_id_obj, aarch64_cpu_id);

static mp_obj_t aarch64_cpu_count(void) {
    return MP_OBJ_NEW_SMALL_INT(cpu_online_count());
}
static MP_DEFINE_CONST_FUN_OBJ_0(aarch64_cpu_count_obj, aarch64_cpu_count);

// The one optional argument of f(..., name=None), positional (at
// index n_pos_max - 1) or by keyword, parsed by hand: these calls are hot.
// Any other keyword is a TypeError with `usage`.
mp_obj_t aarch64_opt_arg(size_t n_pos, size_t n_pos_max, const mp_obj_t *args, mp_map_t *kw,
    qstr name, mp_rom_error_text_t usage) {
    mp_obj_t arg = n_pos > n_pos_max - 1 ? args[n_pos_max - 1] : mp_const_none;
    if (kw->used) {
        mp_map_elem_t *e = mp_map_lookup(kw, MP_OBJ_NEW_QSTR(name), MP_MAP_LOOKUP);
        if (e == NULL || kw->used != 1 || n_pos >= n_pos_max) {
            mp_raise_TypeError(usage);
        }
        arg = e->value;
    }
    return arg;
}

static mp_obj_t cpu_kw(size_t n_pos, size_t n_pos_max, const mp_obj_t *args, mp_map_t *kw) {
    return aarch64_opt_arg(n_pos, n_pos_max, args, kw, MP_QSTR_cpu,
        MP_ERROR_TEXT("unexpected keyword argument (only cpu=)"));
}

static mp_obj_t aarch64_read_sysreg(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("read_sysreg(name, cpu=None)"));
    }
    aarch64_sysreg_t reg;
    aarch64_sysreg_arg(args[0], &reg);
    unsigned int cpu = aarch64_cpu_arg(cpu_kw(n_args, 2, args, kw));
    return mp_obj_new_int_from_uint(aarch64_sysreg_access(cpu, &reg, false, 0));
}
static MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_read_sysreg_obj, 1, aarch64_read_sysreg);

static mp_obj_t aarch64_write_sysreg(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 3) {
        mp_raise_TypeError(MP_ERROR_TEXT("write_sysreg(name, value, cpu=None)"));
    }
    if (n_args < 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("write_sysreg needs a register and a value"));
    }
    aarch64_sysreg_t reg;
    aarch64_sysreg_arg(args[0], &reg);
    uint64_t value = aarch64_u64_arg(args[1]);
    unsigned int cpu = aarch64_cpu_arg(cpu_kw(n_args, 3, args, kw));
    aarch64_check_write(&reg, value);
    aarch64_sysreg_access(cpu, &reg, true, value);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_write_sysreg_obj, 2, aarch64_write_sysreg);

// ---------------------------------------------------------------------------
// IRQ_HANDLER slots

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
// handler services the interrupt, then the callback is scheduled with the CPU id.
static void schedule_irq_callback(unsigned int cpu) {
    mp_obj_t h = MP_STATE_PORT(irq_handler_objs)[cpu];
    if (h != MP_OBJ_NULL) {
        aarch64_irq_handler_obj_t *self = MP_OBJ_TO_PTR(h);
        mp_sched_schedule(self->callback, MP_OBJ_NEW_SMALL_INT(cpu));
    }
}

static void irq_handler_then_schedule(void) {
    unsigned int cpu = cpu_index();
    host_irq_handler();
    if (cpu == 0) {
        schedule_irq_callback(0);
    } else {
        smp_notify_python();    // CPU 0 schedules it: the scheduler is not SMP-safe
    }
}

// On CPU 0, for the CPUs that asked through smp_notify_python().
void smp_python_pending_hook(uint32_t cpus) {
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
    if (MP_STATE_PORT(irq_handler_objs)[cpu] != MP_OBJ_NULL) {
        return false;
    }
    aarch64_irq_handler_obj_t *self = MP_OBJ_TO_PTR(handler);
    MP_STATE_PORT(irq_handler_objs)[cpu] = handler;
    cpu_local[cpu].irq_handler = self->callback == mp_const_none ? host_irq_handler : irq_handler_then_schedule;
    return true;
}

void aarch64_irq_handlers_reset(void) {
    for (unsigned int i = 0; i < MAX_CPUS; ++i) {
        cpu_local[i].irq_handler = NULL;
        MP_STATE_PORT(irq_handler_objs)[i] = MP_OBJ_NULL;
    }
}

// set_irq_handler(handler, cpu=None), get_irq_handler(cpu=None), irq_counts(cpu=None)
static mp_obj_t aarch64_set_irq_handler(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("set_irq_handler(handler, cpu=None)"));
    }
    unsigned int cpu = aarch64_cpu_arg(cpu_kw(n_args, 2, args, kw));
    return mp_obj_new_bool(aarch64_irq_handler_set(cpu, args[0]));
}
static MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_set_irq_handler_obj, 1, aarch64_set_irq_handler);

static mp_obj_t aarch64_get_irq_handler(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("get_irq_handler(cpu=None)"));
    }
    unsigned int cpu = aarch64_cpu_arg(cpu_kw(n_args, 1, args, kw));
    mp_obj_t h = MP_STATE_PORT(irq_handler_objs)[cpu];
    return h == MP_OBJ_NULL ? mp_const_none : h;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_get_irq_handler_obj, 0, aarch64_get_irq_handler);

// (through IRQ_HANDLER, all IRQs taken, IRQs on the vCPU vectors with no
// IRQ_HANDLER, per-CPU timer ticks)
static mp_obj_t aarch64_irq_counts(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    if (n_args > 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("irq_counts(cpu=None)"));
    }
    unsigned int cpu = aarch64_cpu_arg(cpu_kw(n_args, 1, args, kw));
    cpu_local_t *c = &cpu_local[cpu];
    mp_obj_t t[4] = {
        mp_obj_new_int_from_uint(c->irq_count),
        mp_obj_new_int_from_uint(c->irq_total),
        mp_obj_new_int_from_uint(c->irq_no_handler),
        mp_obj_new_int_from_uint(c->timer_ticks),
    };
    return mp_obj_new_tuple(4, t);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(aarch64_irq_counts_obj, 0, aarch64_irq_counts);

// Link-time addresses cannot sit in a ROM table, so these come from __getattr__.
static mp_obj_t aarch64_getattr(mp_obj_t attr_in) {
    qstr attr = mp_obj_str_get_qstr(attr_in);
    if (attr == MP_QSTR_VCPU_VECTORS) {
        return mp_obj_new_int_from_uint((uintptr_t)exception_vector_base_vcpu);
    }
    if (attr == MP_QSTR_HOST_VECTORS) {
        return mp_obj_new_int_from_uint((uintptr_t)host_exception_vectors);
    }
    if (attr == MP_QSTR_BOOT_TICKS) {
        // CNTPCT_EL0 when the runtime was ready for the first prompt
        extern uint64_t boot_ticks;
        return mp_obj_new_int_from_uint(boot_ticks);
    }
    return MP_OBJ_NULL;
}
static MP_DEFINE_CONST_FUN_OBJ_1(aarch64_getattr_obj, aarch64_getattr);

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
    if (smp_call(cpu, cpu_timer_call, &call)) {
        aarch64_raise_timeout(cpu);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(aarch64_cpu_timer_obj, aarch64_cpu_timer);

// Test aid: make a CPU unresponsive for `ms` (it spins with IRQs masked), as a
// hung CPU would be, so the cross-call timeout can be shown.
static void cpu_stall_call(smp_mailbox_t *mb) {
    uint64_t end = timer_counter() + timer_ms_to_ticks(mb->arg[0]);
    while (timer_counter() < end) {
    }
}

static mp_obj_t aarch64_stall_cpu(mp_obj_t cpu_in, mp_obj_t ms_in) {
    unsigned int cpu = aarch64_cpu_arg(cpu_in);
    mp_int_t ms = mp_obj_get_int(ms_in);
    if (cpu == cpu_index() || ms < 0 || ms > 10000) {
        mp_raise_ValueError(MP_ERROR_TEXT("stall_cpu needs another CPU and 0..10000 ms"));
    }
    if (smp_post(cpu, cpu_stall_call, ms)) {
        mp_raise_OSError(MP_EBUSY);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(aarch64_stall_cpu_obj, aarch64_stall_cpu);

static const mp_rom_map_elem_t aarch64_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_aarch64) },
    { MP_ROM_QSTR(MP_QSTR_current_el), MP_ROM_PTR(&aarch64_current_el_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpu_id), MP_ROM_PTR(&aarch64_cpu_id_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpu_count), MP_ROM_PTR(&aarch64_cpu_count_obj) },
    { MP_ROM_QSTR(MP_QSTR_read_sysreg), MP_ROM_PTR(&aarch64_read_sysreg_obj) },
    { MP_ROM_QSTR(MP_QSTR_write_sysreg), MP_ROM_PTR(&aarch64_write_sysreg_obj) },
    { MP_ROM_QSTR(MP_QSTR_Fault), MP_ROM_PTR(&aarch64_fault_type) },
    { MP_ROM_QSTR(MP_QSTR_IrqHandler), MP_ROM_PTR(&aarch64_irq_handler_type) },
    { MP_ROM_QSTR(MP_QSTR_HOST_IRQ_HANDLER), MP_ROM_PTR(&aarch64_host_irq_handler_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_irq_handler), MP_ROM_PTR(&aarch64_set_irq_handler_obj) },
    { MP_ROM_QSTR(MP_QSTR_get_irq_handler), MP_ROM_PTR(&aarch64_get_irq_handler_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq_counts), MP_ROM_PTR(&aarch64_irq_counts_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpu_timer), MP_ROM_PTR(&aarch64_cpu_timer_obj) },
    { MP_ROM_QSTR(MP_QSTR_stall_cpu), MP_ROM_PTR(&aarch64_stall_cpu_obj) },
    { MP_ROM_QSTR(MP_QSTR_RamDisk), MP_ROM_PTR(&aarch64_ramdisk_type) },
    { MP_ROM_QSTR(MP_QSTR___getattr__), MP_ROM_PTR(&aarch64_getattr_obj) },
};
static MP_DEFINE_CONST_DICT(aarch64_module_globals, aarch64_module_globals_table);

const mp_obj_module_t aarch64_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&aarch64_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_aarch64, aarch64_module);
MP_REGISTER_ROOT_POINTER(mp_obj_t irq_handler_objs[MAX_CPUS]);
