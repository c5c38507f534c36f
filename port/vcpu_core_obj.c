// _vcpu.VCpuCore: the C core of vcpu.Aarch64VCpu (firmware/vcpu.py).
//
//   core = _vcpu.VCpuCore(code, cpu, error_type)   guest RAM with `code` at the entry point
//   core.run(timeout_ms=None) -> VmExit; error_type("BadState", ...) if virtualization is off
//   core.reg(i[, value])  x0..x30; i = 31 is pc (ELR_EL2), 32 is sp (SP_EL1)
//   core.stats() -> (exits, null hypercalls)
#include "py/gc.h"
#include "py/runtime.h"
#include "core/cpu.h"
#include "core/gic.h"
#include "core/smp.h"
#include "core/timer.h"
#include "core/vcpu.h"
#include "aarch64.h"
#include "gccollect.h"
#include "modvcpu.h"

typedef struct _vcpu_core_obj_t {
    mp_obj_base_t base;
    vcpu_ctx_t *ctx;        // separately allocated so its alignment is what vcpu.h asks
    mp_obj_t error_type;    // raised as error_type(kind, message): the Python layer's AxError
} vcpu_core_obj_t;

static vcpu_core_obj_t *core_get(mp_obj_t self_in) {
    vcpu_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->ctx == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("vCPU is closed"));
    }
    return self;
}

// VCpuCore(code, cpu, error_type)
static mp_obj_t vcpu_core_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 3, 3, false);
    mp_buffer_info_t code;
    if (!mp_get_buffer(args[0], &code, MP_BUFFER_READ)) {
        mp_raise_TypeError(MP_ERROR_TEXT("code must be bytes-like (AArch64 machine code)"));
    }
    if (code.len == 0 || code.len % 4 || code.len > VCPU_GUEST_LOADED_SIZE / 2) {
        mp_raise_ValueError(MP_ERROR_TEXT("code must be 4..32768 bytes, a multiple of 4"));
    }
    unsigned int cpu = aarch64_cpu_arg(args[1]);
    int slot = vcpu_slot_alloc();
    if (slot < 0) {
        // vCPUs nobody refers to any more give their slots back when the
        // collector finalises them: collect once before refusing.
        gc_collect();
        slot = vcpu_slot_alloc();
    }
    if (slot < 0) {
        mp_raise_msg_varg(&mp_type_OSError,
            MP_ERROR_TEXT("all %d guest memory slots are in use by live vCPUs: close() one (or use 'with')"), VCPU_MAX);
    }
    vcpu_core_obj_t *self = mp_obj_malloc_with_finaliser(vcpu_core_obj_t, type);
    self->error_type = args[2];
    self->ctx = m_new_obj(vcpu_ctx_t);
    vcpu_ctx_init(self->ctx, slot, cpu);
    vcpu_load(self->ctx, code.buf, code.len);
    return MP_OBJ_FROM_PTR(self);
}

static NORETURN void raise_ax_error(mp_obj_t error_type, qstr kind, const char *fmt, unsigned int arg);

static mp_obj_t vcpu_core_close(mp_obj_t self_in) {
    vcpu_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->ctx && self->ctx->running) {
        raise_ax_error(self->error_type, MP_QSTR_BadState, "the vCPU on CPU %u is running: it cannot be closed now", self->ctx->cpu);
    }
    if (self->ctx) {
        vcpu_slot_free(self->ctx->slot);
        self->ctx = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(vcpu_core_close_obj, vcpu_core_close);

// On the vCPU's CPU: arg = (ctx, timeout ticks), ret[0] = exit kind.
static void vcpu_run_call(smp_mailbox_t *mb) {
    mb->ret[0] = vcpu_run_local((vcpu_ctx_t *)mb->arg[0], mb->arg[1]);
}

// error_type(kind, message), the error type the Python layer gave the core.
static NORETURN void raise_ax_error(mp_obj_t error_type, qstr kind, const char *fmt, unsigned int arg) {
    vstr_t msg;
    mp_print_t print;
    vstr_init_print(&msg, 80, &print);
    mp_printf(&print, fmt, arg);
    mp_obj_t args[2] = { MP_OBJ_NEW_QSTR(kind), mp_obj_new_str_from_vstr(&msg) };
    nlr_raise(mp_call_function_n_kw(error_type, 2, 0, args));
}

// While CPU 0 waits for a guest on another CPU: Python callbacks run (the
// REPL's timers keep running), and a pending exception (Ctrl-C) is kept to
// be raised once the guest is out, with the guest kicked out at once.
typedef struct _run_wait_t {
    mp_obj_t exception;
} run_wait_t;

static bool run_wait_idle(void *arg) {
    run_wait_t *w = arg;
    if (w->exception == MP_OBJ_NULL
        && (MP_STATE_VM(sched_state) == MP_SCHED_PENDING || MP_STATE_THREAD(mp_pending_exception) != MP_OBJ_NULL)) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            mp_handle_pending(true);
            nlr_pop();
        } else {
            w->exception = MP_OBJ_FROM_PTR(nlr.ret_val);
        }
    }
    return w->exception != MP_OBJ_NULL;
}

// The longest run: 2**31 - 1 ms (24.8 days); more would overflow the counter
// arithmetic on a fast counter, and silently mean a much shorter run.
#define VCPU_RUN_MAX_MS 0x7fffffff

// run(timeout_ms=None) -> VmExit. Called straight from Python once per exit.
static mp_obj_t vcpu_core_run(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    vcpu_core_obj_t *self = core_get(args[0]);
    vcpu_ctx_t *v = self->ctx;
    mp_obj_t timeout_in = aarch64_opt_arg(n_args, 2, args, kw, MP_QSTR_timeout_ms,
        MP_ERROR_TEXT("run(timeout_ms=None)"));
    uint64_t ticks = 0;
    if (timeout_in != mp_const_none) {
        mp_int_t ms = mp_obj_get_int(timeout_in);
        if (ms <= 0 || ms > VCPU_RUN_MAX_MS) {
            mp_raise_msg_varg(&mp_type_ValueError,
                MP_ERROR_TEXT("timeout_ms must be positive, at most %d (or None: no timeout)"), VCPU_RUN_MAX_MS);
        }
        ticks = timer_ms_to_ticks(ms);
    }
    if (!cpu_local[v->cpu].online) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("CPU %u is not online"), v->cpu);
    }
    if (!gic_driven()) {
        // Its deadline, Ctrl-C and the host's own interrupts all end a run with an IRQ.
        raise_ax_error(self->error_type, MP_QSTR_Unsupported,
            "CPU %u cannot run a guest: guests need interrupts, and this machine's interrupt controller is not driven (see the boot message)", v->cpu);
    }
    if (v->running) {
        raise_ax_error(self->error_type, MP_QSTR_BadState, "the vCPU on CPU %u is already running", v->cpu);
    }
    // Between guest entries, what the scheduler owes runs first (a guest on
    // CPU 0 returns at each host IRQ, and a program calling run() in a loop
    // would otherwise run one queued callback per call); a pending Ctrl-C
    // is raised here.
    for (int i = 0; i < MICROPY_SCHEDULER_DEPTH && MP_STATE_VM(sched_state) == MP_SCHED_PENDING; ++i) {
        mp_handle_pending(true);
    }
    smp_mailbox_t call = { .arg = { (uintptr_t)v, ticks } };
    run_wait_t wait = { MP_OBJ_NULL };
    v->running = true;
    int err = smp_call_wait(v->cpu, vcpu_run_call, &call, -1, run_wait_idle, &wait);
    v->running = false;
    if (wait.exception != MP_OBJ_NULL) {
        nlr_raise(wait.exception);
    }
    if (err) {
        aarch64_raise_call_error(v->cpu, err);
    }
    if (call.ret[0] == VCPU_EXIT_DISABLED) {
        raise_ax_error(self->error_type, MP_QSTR_BadState, "virtualization is disabled on CPU %u: hardware_enable() it first", v->cpu);
    }
    // Python drops most exit records at once: each is allocated after the last.
    static gc_alloc_hint_t exit_hint;
    vm_exit_obj_t *e = gc_alloc_after(sizeof(vm_exit_obj_t), &exit_hint);
    e->base.type = &vm_exit_type;
    e->kind = call.ret[0];
    e->esr = v->esr;
    e->elr = v->frame.elr;
    e->far = v->far;
    e->hpfar = v->hpfar;
    for (int i = 0; i < 31; ++i) {
        e->regs[i] = v->frame.x[i];
    }
    return MP_OBJ_FROM_PTR(e);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(vcpu_core_run_obj, 1, vcpu_core_run);

static mp_obj_t vcpu_core_reg(size_t n_args, const mp_obj_t *args) {
    vcpu_ctx_t *v = core_get(args[0])->ctx;
    mp_int_t i = mp_obj_get_int(args[1]);
    uint64_t *slot;
    if (i >= 0 && i <= 30) {
        slot = &v->frame.x[i];
    } else if (i == 31) {
        slot = &v->frame.elr;
    } else if (i == 32) {
        slot = &v->el1.sp_el1;
    } else {
        mp_raise_msg(&mp_type_IndexError, MP_ERROR_TEXT("register index must be 0..30 (x0..x30)"));
    }
    if (n_args == 3) {
        *slot = aarch64_u64_arg(args[2]);
        return mp_const_none;
    }
    return mp_obj_new_int_from_uint(*slot);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vcpu_core_reg_obj, 2, 3, vcpu_core_reg);

static mp_obj_t vcpu_core_regs(mp_obj_t self_in) {
    return vcpu_regs_tuple(core_get(self_in)->ctx->frame.x);
}
static MP_DEFINE_CONST_FUN_OBJ_1(vcpu_core_regs_obj, vcpu_core_regs);

static mp_obj_t vcpu_core_stats(mp_obj_t self_in) {
    vcpu_ctx_t *v = core_get(self_in)->ctx;
    mp_obj_t t[2] = { mp_obj_new_int_from_uint(v->exits), mp_obj_new_int_from_uint(v->null_hvcs) };
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(vcpu_core_stats_obj, vcpu_core_stats);

static const mp_rom_map_elem_t vcpu_core_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_run), MP_ROM_PTR(&vcpu_core_run_obj) },
    { MP_ROM_QSTR(MP_QSTR_reg), MP_ROM_PTR(&vcpu_core_reg_obj) },
    { MP_ROM_QSTR(MP_QSTR_regs), MP_ROM_PTR(&vcpu_core_regs_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&vcpu_core_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&vcpu_core_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&vcpu_core_close_obj) },
};
static MP_DEFINE_CONST_DICT(vcpu_core_locals, vcpu_core_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    vcpu_core_type,
    MP_QSTR_VCpuCore,
    MP_TYPE_FLAG_NONE,
    make_new, vcpu_core_make_new,
    locals_dict, &vcpu_core_locals
    );
