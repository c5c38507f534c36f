// `_vcpu`: the C core under firmware/vcpu.py.
//
//   core = _vcpu.VCpuCore(code, cpu)      guest RAM with `code` at the entry point
//   core.run(timeout_ms=None) -> VmExit; pcpu.AxError(BadState) if virtualization is off
//   core.reg(i[, value])  x0..x30; i = 31 is pc (ELR_EL2), 32 is sp (SP_EL1)
//   core.stats() -> (exits, null hypercalls)
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "aarch64.h"
#include "cpu.h"
#include "exception.h"
#include "smp.h"
#include "timer.h"
#include "vcpu.h"

// ---------------------------------------------------------------------------
// VmExit: one exit, built in C because Python runs one per exit. The fields
// are raw; kind, ec, ec_name, iss and ipa are derived when read.

typedef struct _vm_exit_obj_t {
    mp_obj_base_t base;
    uint64_t kind, esr, elr, far, hpfar;
    uint64_t regs[31];
} vm_exit_obj_t;

// x0..x30 as a tuple of ints.
static mp_obj_t regs_tuple(const uint64_t *x) {
    mp_obj_t t[31];
    for (int i = 0; i < 31; ++i) {
        t[i] = mp_obj_new_int_from_uint(x[i]);
    }
    return mp_obj_new_tuple(31, t);
}

static const qstr exit_kind_names[] = { MP_QSTR_sync, MP_QSTR_irq, MP_QSTR_timeout };

#define EC_IABT_LOWER 0x20
#define EC_DABT_LOWER 0x24

static bool exit_is_sync(const vm_exit_obj_t *e) {
    return e->kind == VCPU_EXIT_SYNC;
}

static uint32_t exit_ec(const vm_exit_obj_t *e) {
    return (e->esr >> 26) & 0x3f;
}

static bool exit_has_ipa(const vm_exit_obj_t *e) {
    return exit_is_sync(e) && (exit_ec(e) == EC_IABT_LOWER || exit_ec(e) == EC_DABT_LOWER);
}

static uint64_t exit_ipa(const vm_exit_obj_t *e) {
    // HPFAR_EL2.FIPA holds IPA[47:12] in bits [43:4]; the page offset is FAR's.
    return ((e->hpfar >> 4) << 12) | (e->far & 0xfff);
}

static void vm_exit_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    vm_exit_obj_t *e = MP_OBJ_TO_PTR(self_in);
    if (!exit_is_sync(e)) {
        mp_printf(print, "<VmExit %q ELR=0x%lx>", exit_kind_names[e->kind], (unsigned long)e->elr);
        return;
    }
    mp_printf(print, "<VmExit sync EC=0x%02x %q ISS=0x%lx ELR=0x%lx", (unsigned)exit_ec(e),
        exception_class_qstr(exit_ec(e)), (unsigned long)(e->esr & 0x1ffffff), (unsigned long)e->elr);
    if (exit_has_ipa(e)) {
        mp_printf(print, " IPA=0x%lx FAR=0x%lx", (unsigned long)exit_ipa(e), (unsigned long)e->far);
    }
    mp_printf(print, ">");
}

static void vm_exit_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return;     // read-only
    }
    vm_exit_obj_t *e = MP_OBJ_TO_PTR(self_in);
    bool sync = exit_is_sync(e);
    switch (attr) {
        case MP_QSTR_kind:
            dest[0] = MP_OBJ_NEW_QSTR(exit_kind_names[e->kind]);
            break;
        case MP_QSTR_esr:
            dest[0] = mp_obj_new_int_from_uint(e->esr);
            break;
        case MP_QSTR_elr:
            dest[0] = mp_obj_new_int_from_uint(e->elr);
            break;
        case MP_QSTR_far:
            dest[0] = mp_obj_new_int_from_uint(e->far);
            break;
        case MP_QSTR_hpfar:
            dest[0] = mp_obj_new_int_from_uint(e->hpfar);
            break;
        case MP_QSTR_ec:
            dest[0] = sync ? MP_OBJ_NEW_SMALL_INT(exit_ec(e)) : mp_const_none;
            break;
        case MP_QSTR_ec_name:
            dest[0] = sync ? MP_OBJ_NEW_QSTR(exception_class_qstr(exit_ec(e))) : mp_const_none;
            break;
        case MP_QSTR_iss:
            dest[0] = mp_obj_new_int_from_uint(e->esr & 0x1ffffff);
            break;
        case MP_QSTR_ipa:
            dest[0] = exit_has_ipa(e) ? mp_obj_new_int_from_uint(exit_ipa(e)) : mp_const_none;
            break;
        case MP_QSTR_regs:
            dest[0] = regs_tuple(e->regs);
            break;
    }
}

static MP_DEFINE_CONST_OBJ_TYPE(
    vm_exit_type,
    MP_QSTR_VmExit,
    MP_TYPE_FLAG_NONE,
    print, vm_exit_print,
    attr, vm_exit_attr
    );

// ---------------------------------------------------------------------------
// VCpuCore

typedef struct _vcpu_core_obj_t {
    mp_obj_base_t base;
    vcpu_ctx_t *ctx;        // separately allocated so its alignment is what vcpu.h asks
} vcpu_core_obj_t;

static const mp_obj_type_t vcpu_core_type;

static vcpu_core_obj_t *core_get(mp_obj_t self_in) {
    vcpu_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->ctx == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("vCPU is closed"));
    }
    return self;
}

static mp_obj_t vcpu_core_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
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
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("all guest memory slots are in use: close() a vCPU"));
    }
    vcpu_core_obj_t *self = mp_obj_malloc_with_finaliser(vcpu_core_obj_t, type);
    self->ctx = m_new_obj(vcpu_ctx_t);
    vcpu_ctx_init(self->ctx, slot, cpu);
    vcpu_load(self->ctx, code.buf, code.len);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t vcpu_core_close(mp_obj_t self_in) {
    vcpu_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
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

// pcpu.AxError(kind, message), raised from C.
static NORETURN void raise_ax_error(qstr kind, const char *fmt, unsigned int arg) {
    mp_obj_t pcpu = mp_import_name(MP_QSTR_pcpu, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    mp_obj_t ax_error = mp_load_attr(pcpu, MP_QSTR_AxError);
    vstr_t msg;
    mp_print_t print;
    vstr_init_print(&msg, 80, &print);
    mp_printf(&print, fmt, arg);
    mp_obj_t args[2] = { MP_OBJ_NEW_QSTR(kind), mp_obj_new_str_from_vstr(&msg) };
    nlr_raise(mp_call_function_n_kw(ax_error, 2, 0, args));
}

// run(timeout_ms=None) -> VmExit. Called straight from Python once per exit.
static mp_obj_t vcpu_core_run(size_t n_args, const mp_obj_t *args, mp_map_t *kw) {
    vcpu_ctx_t *v = core_get(args[0])->ctx;
    mp_obj_t timeout_in = aarch64_opt_arg(n_args, 2, args, kw, MP_QSTR_timeout_ms,
        MP_ERROR_TEXT("run(timeout_ms=None)"));
    uint64_t ticks = 0;
    if (timeout_in != mp_const_none) {
        mp_int_t ms = mp_obj_get_int(timeout_in);
        if (ms <= 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("timeout_ms must be positive"));
        }
        ticks = timer_ms_to_ticks(ms);
    }
    if (!cpu_local[v->cpu].online) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("CPU %u is not online"), v->cpu);
    }
    smp_mailbox_t call = { .arg = { (uintptr_t)v, ticks } };
    if (smp_call_wait(v->cpu, vcpu_run_call, &call, -1)) {
        aarch64_raise_timeout(v->cpu);
    }
    if (call.ret[0] == VCPU_EXIT_DISABLED) {
        raise_ax_error(MP_QSTR_BadState, "virtualization is disabled on CPU %u: hardware_enable() it first", v->cpu);
    }
    vm_exit_obj_t *e = mp_obj_malloc(vm_exit_obj_t, &vm_exit_type);
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
        slot = &v->sp_el1;
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
    return regs_tuple(core_get(self_in)->ctx->frame.x);
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

static MP_DEFINE_CONST_OBJ_TYPE(
    vcpu_core_type,
    MP_QSTR_VCpuCore,
    MP_TYPE_FLAG_NONE,
    make_new, vcpu_core_make_new,
    locals_dict, &vcpu_core_locals
    );

static const mp_rom_map_elem_t vcpu_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__vcpu) },
    { MP_ROM_QSTR(MP_QSTR_VCpuCore), MP_ROM_PTR(&vcpu_core_type) },
    { MP_ROM_QSTR(MP_QSTR_VmExit), MP_ROM_PTR(&vm_exit_type) },
    { MP_ROM_QSTR(MP_QSTR_GUEST_IPA), MP_ROM_INT(VCPU_GUEST_IPA) },
    { MP_ROM_QSTR(MP_QSTR_GUEST_RAM_SIZE), MP_ROM_INT(VCPU_GUEST_RAM_SIZE) },
    { MP_ROM_QSTR(MP_QSTR_GUEST_STACK_TOP), MP_ROM_INT(VCPU_GUEST_STACK_TOP) },
    { MP_ROM_QSTR(MP_QSTR_NULL_HVC), MP_ROM_INT(VCPU_NULL_HVC) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_SYNC), MP_ROM_INT(VCPU_EXIT_SYNC) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_IRQ), MP_ROM_INT(VCPU_EXIT_IRQ) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_TIMEOUT), MP_ROM_INT(VCPU_EXIT_TIMEOUT) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_DISABLED), MP_ROM_INT(VCPU_EXIT_DISABLED) },
};
static MP_DEFINE_CONST_DICT(vcpu_module_globals, vcpu_module_globals_table);

const mp_obj_module_t vcpu_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&vcpu_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__vcpu, vcpu_module);
