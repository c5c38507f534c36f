// `_vm`: the C side of firmware/vm.py. One object, _vm.Core, holds the VM
// (core/vm.c); vm.py does everything that needs a decision in Python.
//
//   core = _vm.Core(ram, cpus, mpidrs)     guest RAM at 0x4000_0000, vCPU i on CPU cpus[i]
//   core.write(ipa, data) / core.read(ipa, n) / core.zero(ipa, n)
//   core.map(ipa, pa, size)                host MMIO passed straight through
//   core.copy_from_pa(ipa, pa, size)       what the boot loader left in RAM, into guest RAM
//   core.reset(i, pc, x0)                  a vCPU at its entry (EL1h, MMU off, IRQs masked)
//   core.start(i) / core.stop(i)           run it on its CPU / ask it to stop
//   core.devices(list)                     the device models: (base, end, model, ...) tuples
//   core.wait(timeout_ms, input, exit) -> i
//        i >= 0: vCPU i exited, and the list `exit` holds [kind (VM_EXIT_*), a0, a1, a2, a3];
//        i = -1: timeout; i = -2: console input. A load or store to a device model
//        is answered inside wait() (model.read/write) and is not reported, unless
//        the model raised (kind EXIT_DEVICE_ERROR, [kind, ipa, width, is_write, exception])
//        or the vCPU was asked to stop (stop(i)): then vm.py calls the model itself.
//   core.resume(i, value)                  finish the exit (load value / x0) and start again
//   core.power(i[, state])                 PSCI's view of vCPU i (ON 0, OFF 1, ON_PENDING 2)
//   core.reg(i, n[, value]), core.regs(i)  x0..x30; n = 31 pc, 32 SP_EL1, 33 ESR, 34 FAR, 35 HPFAR,
//                                          36 HCR_EL2 the guest last ran with
//   core.publish(ipa, value)               loads from ipa read value, answered in C
//   core.post(start, size)                 stores there are logged, handed to the model later
//   core.irq(intid, level)                 a device model's SPI line up or down (the vGIC)
//   core.vgic() -> dict or None            the virtual distributor's state
//   core.reset_irqs()                      the virtual GIC as at power-on (every vCPU stopped)
//   core.forward(intid, on)                a physical SPI to the VM (HW bit) or back to the host
//   core.close()
//   _vm.free_ram() -> (base, size)         the physical RAM guests may use
#include <string.h>

#include "py/gc.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "core/cpu.h"
#include "core/gic.h"
#include "core/timer.h"
#include "core/vm.h"
#include "aarch64.h"

typedef struct _vm_core_obj_t {
    mp_obj_base_t base;
    vm_t *vm;
    mp_obj_t devices;       // vm.py's list of (base, end, model, ...), or None
    mp_obj_t u64_mask;      // 2**64 - 1: what a model's read() is masked with
} vm_core_obj_t;

// A model raised: reported by wait() with the exception (not a VM_EXIT_*
// of the C core: only this module calls models).
#define EXIT_DEVICE_ERROR   16

static const mp_obj_type_t vm_core_type;

static vm_t *vm_get(mp_obj_t self_in) {
    vm_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->vm == NULL || !self->vm->live) {
        mp_raise_ValueError(MP_ERROR_TEXT("the VM is closed"));
    }
    return self->vm;
}

static unsigned int vcpu_index(vm_t *vm, mp_obj_t i_in) {
    mp_int_t i = mp_obj_get_int(i_in);
    if (i < 0 || (mp_uint_t)i >= vm->n_vcpus) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("no vCPU %d (the VM has %u)"), (int)i, vm->n_vcpus);
    }
    return i;
}

static vcpu_ctx_t *vcpu_quiet(vm_t *vm, mp_obj_t i_in) {
    vcpu_ctx_t *v = &vm->vcpus[vcpu_index(vm, i_in)];
    uint32_t s = __atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE);
    if (s == VM_RUN_REQUESTED || s == VM_RUN_RUNNING) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("vCPU %u is running: stop it first"), v->index);
    }
    return v;
}

// Core(ram, cpus, mpidrs[, stage2_block])
static mp_obj_t vm_core_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 3, 4, false);
    uint64_t ram = aarch64_u64_arg(args[0]);
    uint64_t block = n_args > 3 ? aarch64_u64_arg(args[3]) : VM_STAGE2_BLOCK;
    size_t n, n2;
    mp_obj_t *cpu_objs, *mpidr_objs;
    mp_obj_get_array(args[1], &n, &cpu_objs);
    mp_obj_get_array(args[2], &n2, &mpidr_objs);
    if (n != n2 || n == 0 || n > VM_MAX_VCPUS) {
        mp_raise_ValueError(MP_ERROR_TEXT("cpus and mpidrs: one entry per vCPU, 1..8"));
    }
    unsigned int cpus[VM_MAX_VCPUS];
    uint64_t mpidrs[VM_MAX_VCPUS];
    for (size_t i = 0; i < n; ++i) {
        cpus[i] = aarch64_cpu_arg(cpu_objs[i]);
        if (cpus[i] == 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("CPU 0 runs Python and the REPL: give the vCPUs other CPUs"));
        }
        for (size_t k = 0; k < i; ++k) {
            if (cpus[k] == cpus[i]) {
                mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("CPU %u is given to two vCPUs"), cpus[i]);
            }
        }
        mpidrs[i] = aarch64_u64_arg(mpidr_objs[i]);
    }
    if (!gic_driven()) {
        mp_raise_ValueError(MP_ERROR_TEXT("guests need interrupts, and this machine's interrupt controller is not driven (see the boot message)"));
    }
    const char *why = NULL;
    vm_t *vm = vm_create(ram, n, cpus, mpidrs, block, &why);
    if (vm == NULL && vm_live()) {
        // A VM nobody refers to any more is closed when the collector
        // finalises it: collect once before refusing.
        gc_collect();
        vm = vm_create(ram, n, cpus, mpidrs, block, &why);
    }
    if (vm == NULL) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s"), why);
    }
    vm_core_obj_t *self = mp_obj_malloc_with_finaliser(vm_core_obj_t, type);
    self->vm = vm;
    self->devices = mp_const_none;
    self->u64_mask = mp_obj_new_int_from_ull(~0ull);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t vm_core_close(mp_obj_t self_in) {
    vm_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->vm != NULL) {
        vm_destroy(self->vm);
        self->vm = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(vm_core_close_obj, vm_core_close);

static NORETURN void raise_outside_ram(uint64_t ipa, uint64_t len) {
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("0x%llx..+0x%llx is not in the guest's RAM"),
        (unsigned long long)ipa, (unsigned long long)len);
}

static mp_obj_t vm_core_write(mp_obj_t self_in, mp_obj_t ipa_in, mp_obj_t data_in) {
    vm_t *vm = vm_get(self_in);
    uint64_t ipa = aarch64_u64_arg(ipa_in);
    mp_buffer_info_t data;
    mp_get_buffer_raise(data_in, &data, MP_BUFFER_READ);
    if (!vm_ram_write(vm, ipa, data.buf, data.len)) {
        raise_outside_ram(ipa, data.len);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_write_obj, vm_core_write);

static mp_obj_t vm_core_read(mp_obj_t self_in, mp_obj_t ipa_in, mp_obj_t n_in) {
    vm_t *vm = vm_get(self_in);
    uint64_t ipa = aarch64_u64_arg(ipa_in);
    mp_int_t n = mp_obj_get_int(n_in);
    if (n < 0 || ipa < VM_RAM_IPA || (uint64_t)n > vm->ram_size || ipa - VM_RAM_IPA > vm->ram_size - n) {
        raise_outside_ram(ipa, n);
    }
    vstr_t vstr;
    vstr_init_len(&vstr, n);
    vm_ram_read(vm, ipa, vstr.buf, n);
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_read_obj, vm_core_read);

static mp_obj_t vm_core_zero(mp_obj_t self_in, mp_obj_t ipa_in, mp_obj_t n_in) {
    vm_t *vm = vm_get(self_in);
    uint64_t ipa = aarch64_u64_arg(ipa_in), n = aarch64_u64_arg(n_in);
    if (!vm_ram_zero(vm, ipa, n)) {
        raise_outside_ram(ipa, n);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_zero_obj, vm_core_zero);

// copy_from_pa(ipa, pa, size): what the boot loader left in physical RAM.
static mp_obj_t vm_core_copy_from_pa(size_t n_args, const mp_obj_t *args) {
    vm_t *vm = vm_get(args[0]);
    const char *why = vm_ram_copy_from_pa(vm, aarch64_u64_arg(args[1]), aarch64_u64_arg(args[2]), aarch64_u64_arg(args[3]));
    if (why != NULL) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s"), why);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vm_core_copy_from_pa_obj, 4, 4, vm_core_copy_from_pa);

// map(ipa, pa, size): host MMIO the guest may own, as Device memory.
static mp_obj_t vm_core_map(size_t n_args, const mp_obj_t *args) {
    vm_t *vm = vm_get(args[0]);
    uint64_t ipa = aarch64_u64_arg(args[1]), pa = aarch64_u64_arg(args[2]), size = aarch64_u64_arg(args[3]);
    if (size == 0 || ((ipa | pa | size) & 0xfff)) {
        mp_raise_ValueError(MP_ERROR_TEXT("ipa, pa and size must be 4 KiB aligned, size positive"));
    }
    if (ipa < VM_RAM_IPA + vm->ram_size && VM_RAM_IPA < ipa + size) {
        mp_raise_ValueError(MP_ERROR_TEXT("that range overlaps the guest's RAM"));
    }
    if (!stage2_map(&vm->s2, ipa, pa, size, STAGE2_DEVICE, STAGE2_1G)) {
        mp_raise_ValueError(MP_ERROR_TEXT("cannot map it: outside the IPA space, over an existing mapping, or out of table pages"));
    }
    for (unsigned int i = 0; i < vm->n_vcpus; ++i) {
        vm->vcpus[i].tlb_fresh = true;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vm_core_map_obj, 4, 4, vm_core_map);

// reset(i, pc, x0): vCPU i at `pc` as booting.rst and PSCI CPU_ON start a CPU.
static mp_obj_t vm_core_reset(size_t n_args, const mp_obj_t *args) {
    vm_t *vm = vm_get(args[0]);
    vcpu_ctx_t *v = vcpu_quiet(vm, args[1]);
    vm_vcpu_reset(vm, v->index, aarch64_u64_arg(args[2]), aarch64_u64_arg(args[3]));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vm_core_reset_obj, 4, 4, vm_core_reset);

static mp_obj_t vm_core_start(mp_obj_t self_in, mp_obj_t i_in) {
    vm_t *vm = vm_get(self_in);
    vcpu_ctx_t *v = vcpu_quiet(vm, i_in);
    if (v->vm_exit != 0 && v->vm_exit != VM_EXIT_STOPPED) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("vCPU %u has an exit to finish: resume(i, value)"), v->index);
    }
    vm_vcpu_start(vm, v->index);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(vm_core_start_obj, vm_core_start);

static mp_obj_t vm_core_stop(mp_obj_t self_in, mp_obj_t i_in) {
    vm_t *vm = vm_get(self_in);
    vm_vcpu_stop(vm, vcpu_index(vm, i_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(vm_core_stop_obj, vm_core_stop);

static mp_obj_t vm_core_resume(mp_obj_t self_in, mp_obj_t i_in, mp_obj_t value_in) {
    vm_t *vm = vm_get(self_in);
    vcpu_ctx_t *v = vcpu_quiet(vm, i_in);
    vm_vcpu_complete(vm, v->index, aarch64_u64_arg(value_in));
    vm_vcpu_start(vm, v->index);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_resume_obj, vm_core_resume);

// The list wait() reports an exit in: [kind, a0, a1, a2, a3]. The caller
// passes the same one every time: a new tuple per exit was a multi-block
// heap allocation, and MicroPython searches for room for one from the first
// free block on (about half of a round trip to a Python device model).
static mp_obj_t *exit_items(mp_obj_t exit_in) {
    size_t n;
    mp_obj_t *items;
    if (!mp_obj_is_exact_type(exit_in, &mp_type_list)) {
        mp_raise_TypeError(MP_ERROR_TEXT("exit: a list of 5, [kind, a0, a1, a2, a3]"));
    }
    mp_obj_list_get(exit_in, &n, &items);
    if (n != 5) {
        mp_raise_ValueError(MP_ERROR_TEXT("exit: a list of 5, [kind, a0, a1, a2, a3]"));
    }
    return items;
}

static mp_obj_t exit_store(int i, vcpu_ctx_t *v, mp_obj_t *items) {
    items[0] = MP_OBJ_NEW_SMALL_INT(v->vm_exit);
    for (int k = 0; k < 4; ++k) {
        items[1 + k] = mp_obj_new_int_from_uint(v->exit_args[k]);
    }
    return MP_OBJ_NEW_SMALL_INT(i);
}

// devices(list): the list of (base, end, model, ...) tuples vm.py keeps
// (it may grow later: it is read at each access).
static mp_obj_t vm_core_devices(mp_obj_t self_in, mp_obj_t list_in) {
    vm_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (!mp_obj_is_exact_type(list_in, &mp_type_list)) {
        mp_raise_TypeError(MP_ERROR_TEXT("devices: a list of (base, end, model, ...) tuples"));
    }
    self->devices = list_in;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(vm_core_devices_obj, vm_core_devices);

// The model whose [base, end) holds `ipa`, or NULL (then vm.py decides).
static mp_obj_t device_at(vm_core_obj_t *self, uint64_t ipa, uint64_t *base) {
    if (self->devices == mp_const_none) {
        return MP_OBJ_NULL;
    }
    size_t n;
    mp_obj_t *devices;
    mp_obj_list_get(self->devices, &n, &devices);
    for (size_t k = 0; k < n; ++k) {
        size_t len;
        mp_obj_t *d;
        if (!mp_obj_is_exact_type(devices[k], &mp_type_tuple)) {
            continue;
        }
        mp_obj_tuple_get(devices[k], &len, &d);
        // (Not only small ints: a frozen module's constants, as vm_layout's
        // UART_BASE, can be long-int objects of small value.)
        mp_int_t start, end;
        if (len >= 3 && mp_obj_get_int_maybe(d[0], &start) && mp_obj_get_int_maybe(d[1], &end)
            && (mp_int_t)ipa >= start && (mp_int_t)ipa < end) {
            *base = start;
            return d[2];
        }
    }
    return MP_OBJ_NULL;
}

// An MMIO exit of vCPU v to a device model, answered here: model.write(
// offset, width, value) or model.read(offset, width) & (2**64 - 1) into the
// guest's register, and the vCPU runs on. (A Python loop doing the same for
// every access cost about three times the whole round trip in C.) If the
// model raised an Exception, `items` gets [EXIT_DEVICE_ERROR, ipa, width,
// is_write, the exception]; anything else it raises (KeyboardInterrupt)
// propagates. With no model at the address, vm.py reports the access.
enum { MMIO_NO_MODEL, MMIO_ANSWERED, MMIO_RAISED };

// One access to the model at `ipa`: MMIO_NO_MODEL, MMIO_ANSWERED (*value:
// what a load reads) or MMIO_RAISED (items filled).
static int model_access(vm_core_obj_t *self, uint64_t ipa, uint64_t width, bool write, uint64_t *value,
    mp_obj_t *items) {
    uint64_t base;
    mp_obj_t model = device_at(self, ipa, &base);
    if (model == MP_OBJ_NULL) {
        return MMIO_NO_MODEL;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t call[5];
        mp_load_method(model, write ? MP_QSTR_write : MP_QSTR_read, call);
        call[2] = mp_obj_new_int_from_uint(ipa - base);
        call[3] = MP_OBJ_NEW_SMALL_INT(width);
        if (write) {
            call[4] = mp_obj_new_int_from_uint(*value);
            mp_call_method_n_kw(3, 0, call);
            *value = 0;
        } else {
            mp_obj_t got = mp_call_method_n_kw(2, 0, call);
            if (mp_obj_is_small_int(got)) {
                *value = (uint64_t)MP_OBJ_SMALL_INT_VALUE(got);    // a negative one in two's complement
            } else {
                *value = aarch64_u64_arg(mp_binary_op(MP_BINARY_OP_AND, got, self->u64_mask));
            }
        }
        nlr_pop();
    } else {
        mp_obj_t e = MP_OBJ_FROM_PTR(nlr.ret_val);
        if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(e)), MP_OBJ_FROM_PTR(&mp_type_Exception))) {
            nlr_jump(nlr.ret_val);
        }
        items[0] = MP_OBJ_NEW_SMALL_INT(EXIT_DEVICE_ERROR);
        items[1] = mp_obj_new_int_from_uint(ipa);
        items[2] = MP_OBJ_NEW_SMALL_INT(width);
        items[3] = mp_obj_new_bool(write);
        items[4] = e;
        return MMIO_RAISED;
    }
    return MMIO_ANSWERED;
}

// A run of posted writes to one register of a model that takes them as
// bytes: model.write_bytes(offset, data), each write's low byte (a data
// register: a guest's console output is thousands of them, and one Python
// call per byte paced a Linux boot). MMIO_ANSWERED or MMIO_RAISED.
static int model_write_bytes(mp_obj_t *method, uint64_t offset, uint64_t ipa,
    const uint8_t *data, size_t n, mp_obj_t *items) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        method[2] = mp_obj_new_int_from_uint(offset);
        method[3] = mp_obj_new_bytes(data, n);
        mp_call_method_n_kw(2, 0, method);
        nlr_pop();
        return MMIO_ANSWERED;
    }
    mp_obj_t e = MP_OBJ_FROM_PTR(nlr.ret_val);
    if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(e)), MP_OBJ_FROM_PTR(&mp_type_Exception))) {
        nlr_jump(nlr.ret_val);
    }
    items[0] = MP_OBJ_NEW_SMALL_INT(EXIT_DEVICE_ERROR);
    items[1] = mp_obj_new_int_from_uint(ipa);
    items[2] = MP_OBJ_NEW_SMALL_INT(1);
    items[3] = mp_const_true;
    items[4] = e;
    return MMIO_RAISED;
}

// Hand the posted writes to their models, oldest first: one write() each,
// or one write_bytes() for a run to the same register where the model has
// it. -1 when done, or the vCPU whose write a model raised on (items
// filled, as for an exit).
static int drain_posted(vm_core_obj_t *self, vm_t *vm, mp_obj_t *items) {
    vm_posted_t e;
    bool have = vm_post_take(vm, &e);
    while (have) {
        uint64_t base;
        mp_obj_t model = device_at(self, e.ipa, &base);
        mp_obj_t method[4] = { MP_OBJ_NULL, MP_OBJ_NULL };
        if (model != MP_OBJ_NULL) {
            mp_load_method_maybe(model, MP_QSTR_write_bytes, method);
        }
        if (method[0] == MP_OBJ_NULL || method[0] == mp_const_none) {    // (None: turned off)
            uint64_t value = e.value;
            if (model_access(self, e.ipa, e.width, true, &value, items) == MMIO_RAISED) {
                return e.vcpu;
            }
            have = vm_post_take(vm, &e);
            continue;
        }
        uint8_t run[256];
        size_t n = 0;
        uint64_t ipa = e.ipa;
        unsigned int vcpu = e.vcpu;
        do {
            run[n++] = (uint8_t)e.value;
            have = vm_post_take(vm, &e);
        } while (have && e.ipa == ipa && n < sizeof(run));
        if (model_write_bytes(method, ipa - base, ipa, run, n, items) == MMIO_RAISED) {
            return vcpu;
        }
    }
    return -1;
}

static int mmio_to_model(vm_core_obj_t *self, vcpu_ctx_t *v, mp_obj_t *items) {
    uint64_t ipa = v->exit_args[0], width = v->exit_args[1];
    uint64_t value = v->exit_args[3];
    int got = model_access(self, ipa, width, v->exit_args[2], &value, items);
    if (got != MMIO_ANSWERED) {
        return got;
    }
    // The model may have closed the VM, or asked the vCPU to stop (it then
    // leaves at once, as after resume()).
    vm_t *vm = vm_get(MP_OBJ_FROM_PTR(self));
    vm_vcpu_complete(vm, v->index, value);
    vm_vcpu_start(vm, v->index);
    return MMIO_ANSWERED;
}

// wait(timeout_ms, input, exit): the next exit of any vCPU (into the list
// `exit`) that a device model in this module does not answer, console input
// (if `input`), or the timeout. Python callbacks run meanwhile; Ctrl-C (if
// the console still turns it into KeyboardInterrupt) is raised.
static mp_obj_t vm_core_wait(size_t n_args, const mp_obj_t *args) {
    vm_core_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    vm_t *vm = vm_get(args[0]);
    mp_int_t ms = mp_obj_get_int(args[1]);
    bool input = mp_obj_is_true(args[2]);
    mp_obj_t *items = exit_items(args[3]);
    uint64_t deadline = timer_counter() + timer_ms_to_ticks(ms < 0 ? 0 : ms);
    static unsigned int next;           // fairness: start the scan after the last one served
    for (;;) {
        // Posted writes first: every other access to a model comes after them.
        if (!vm_post_empty(vm)) {
            int raised = drain_posted(self, vm, items);
            if (raised >= 0) {
                return MP_OBJ_NEW_SMALL_INT(raised);
            }
            vm = vm_get(args[0]);       // (a model may have closed it)
        }
        // Input first: a guest flooding its console must not keep Ctrl-] out.
        if (input && (mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD)) {
            return MP_OBJ_NEW_SMALL_INT(-2);
        }
        bool answered = false;
        for (unsigned int k = 0; k < vm->n_vcpus; ++k) {
            unsigned int i = (next + k) % vm->n_vcpus;
            vcpu_ctx_t *v = &vm->vcpus[i];
            if (__atomic_load_n(&v->run_state, __ATOMIC_ACQUIRE) == VM_RUN_EXITED) {
                // What it posted before this exit goes first.
                int raised = vm_post_empty(vm) ? -1 : drain_posted(self, vm, items);
                if (raised >= 0) {
                    return MP_OBJ_NEW_SMALL_INT(raised);
                }
                vm = vm_get(args[0]);
                v->run_state = VM_RUN_IDLE;
                next = i + 1;
                // (Not for a vCPU asked to stop: answering would start it again.)
                int mmio = v->vm_exit == VM_EXIT_MMIO && !v->stop_req ? mmio_to_model(self, v, items) : MMIO_NO_MODEL;
                if (mmio == MMIO_ANSWERED) {
                    answered = true;
                    break;
                }
                return mmio == MMIO_RAISED ? MP_OBJ_NEW_SMALL_INT(i) : exit_store(i, v, items);
            }
        }
        if (timer_counter() >= deadline) {
            return MP_OBJ_NEW_SMALL_INT(-1);
        }
        mp_handle_pending(true);
        if (!answered && !(input && (mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD))) {
            vm_host_idle(vm, deadline);     // until an exit, a posted write, input or the deadline
        }
    }
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vm_core_wait_obj, 4, 4, vm_core_wait);

static mp_obj_t vm_core_power(size_t n_args, const mp_obj_t *args) {
    vm_t *vm = vm_get(args[0]);
    unsigned int i = vcpu_index(vm, args[1]);
    if (n_args == 3) {
        mp_int_t s = mp_obj_get_int(args[2]);
        if (s < VM_POWER_ON || s > VM_POWER_ON_PENDING) {
            mp_raise_ValueError(MP_ERROR_TEXT("power state: 0 ON, 1 OFF, 2 ON_PENDING"));
        }
        __atomic_store_n(&vm->power[i], s, __ATOMIC_RELEASE);
        return mp_const_none;
    }
    return MP_OBJ_NEW_SMALL_INT(vm->power[i]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vm_core_power_obj, 2, 3, vm_core_power);

static mp_obj_t vm_core_reg(size_t n_args, const mp_obj_t *args) {
    vm_t *vm = vm_get(args[0]);
    vcpu_ctx_t *v = vcpu_quiet(vm, args[1]);
    mp_int_t n = mp_obj_get_int(args[2]);
    uint64_t *slot;
    if (n >= 0 && n <= 30) {
        slot = &v->frame.x[n];
    } else if (n == 31) {
        slot = &v->frame.elr;
    } else if (n == 32) {
        slot = &v->el1.sp_el1;
    } else if (n >= 33 && n <= 36 && n_args == 3) {
        uint64_t ro[4] = { v->esr, v->far, v->hpfar, v->hcr };
        return mp_obj_new_int_from_uint(ro[n - 33]);
    } else {
        mp_raise_ValueError(MP_ERROR_TEXT("register: 0..30 x0..x30, 31 pc, 32 sp; 33 ESR, 34 FAR, 35 HPFAR, 36 HCR_EL2 (read-only)"));
    }
    if (n_args == 4) {
        *slot = aarch64_u64_arg(args[3]);
        return mp_const_none;
    }
    return mp_obj_new_int_from_uint(*slot);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(vm_core_reg_obj, 3, 4, vm_core_reg);

static mp_obj_t vm_core_state(mp_obj_t self_in, mp_obj_t i_in) {
    vm_t *vm = vm_get(self_in);
    return MP_OBJ_NEW_SMALL_INT(vm->vcpus[vcpu_index(vm, i_in)].run_state);
}
static MP_DEFINE_CONST_FUN_OBJ_2(vm_core_state_obj, vm_core_state);

// publish(ipa, value): loads from `ipa` read `value`, answered on the vCPU's
// CPU, until the next publish. post(start, size): stores to [start,
// start + size) are logged and handed to the model's write() later, in order.
static mp_obj_t vm_core_publish(mp_obj_t self_in, mp_obj_t ipa_in, mp_obj_t value_in) {
    if (!vm_publish(vm_get(self_in), aarch64_u64_arg(ipa_in), aarch64_u64_arg(value_in))) {
        mp_raise_ValueError(MP_ERROR_TEXT("the VM publishes at most 16 registers"));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_publish_obj, vm_core_publish);

static mp_obj_t vm_core_post(mp_obj_t self_in, mp_obj_t start_in, mp_obj_t size_in) {
    if (!vm_post_range(vm_get(self_in), aarch64_u64_arg(start_in), aarch64_u64_arg(size_in))) {
        mp_raise_ValueError(MP_ERROR_TEXT("the VM posts writes to at most 4 ranges"));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_post_obj, vm_core_post);

// irq(intid, level): a device model's interrupt line (an SPI, 32..127) up or down.
static mp_obj_t vm_core_irq(mp_obj_t self_in, mp_obj_t intid_in, mp_obj_t level_in) {
    vm_t *vm = vm_get(self_in);
    mp_int_t intid = mp_obj_get_int(intid_in);
    if (!vm->vgic.present) {
        mp_raise_ValueError(MP_ERROR_TEXT("this VM has no virtual interrupt controller"));
    }
    if (intid < 32 || intid >= VGIC_NR_IRQS || !vgic_set_level(vm, intid, mp_obj_is_true(level_in))) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("INTID %d is not an SPI of the VM (32..%d)"),
            (int)intid, VGIC_NR_IRQS - 1);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_irq_obj, vm_core_irq);

// reset_irqs(): the virtual GIC as at power-on (a guest's reboot); every vCPU stopped.
static mp_obj_t vm_core_reset_irqs(mp_obj_t self_in) {
    vm_t *vm = vm_get(self_in);
    for (unsigned int i = 0; i < vm->n_vcpus; ++i) {
        vcpu_quiet(vm, MP_OBJ_NEW_SMALL_INT(i));
    }
    if (vm->vgic.present) {
        // Forwarded interrupts stay forwarded, fresh (not pending, not active).
        uint32_t hw[VGIC_WORDS];
        memcpy(hw, vm->vgic.hw_w, sizeof(hw));
        vgic_init(&vm->vgic, vm->n_vcpus);
        for (unsigned int i = 32; i < VGIC_NR_IRQS; ++i) {
            if ((hw[i / 32] >> (i % 32)) & 1) {
                vgic_forward(vm, i, true);
            }
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(vm_core_reset_irqs_obj, vm_core_reset_irqs);

// forward(intid, on): physical SPI `intid` to the VM (queued with the HW bit)
// or back to the host.
static mp_obj_t vm_core_forward(mp_obj_t self_in, mp_obj_t intid_in, mp_obj_t on_in) {
    vm_t *vm = vm_get(self_in);
    mp_int_t intid = mp_obj_get_int(intid_in);
    if (intid < 32 || intid >= VGIC_NR_IRQS) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("INTID %d is not an SPI of the VM (32..%d)"),
            (int)intid, VGIC_NR_IRQS - 1);
    }
    if (mp_obj_is_true(on_in) && gic_has_handler(intid) && !gic_is_forwarded(intid)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("INTID %d is the firmware's own (a driver of its handles it)"),
            (int)intid);
    }
    if (!vgic_forward(vm, intid, mp_obj_is_true(on_in))) {
        mp_raise_ValueError(MP_ERROR_TEXT("interrupts are forwarded to guests only with a GIC the firmware drives"));
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(vm_core_forward_obj, vm_core_forward);

static mp_obj_t u32_words(const uint32_t *w, unsigned int n) {
    mp_obj_t v = MP_OBJ_NEW_SMALL_INT(0);
    for (unsigned int i = n; i-- > 0;) {
        v = mp_binary_op(MP_BINARY_OP_LSHIFT, v, MP_OBJ_NEW_SMALL_INT(32));
        v = mp_binary_op(MP_BINARY_OP_OR, v, mp_obj_new_int_from_uint(w[i]));
    }
    return v;
}

static void dict_set(mp_obj_t d, const char *key, mp_obj_t value) {
    mp_obj_dict_store(d, mp_obj_new_str(key, strlen(key)), value);
}

// vgic(): the virtual distributor's state, or None without one. Bit n of
// the SPI masks is INTID n; each vCPU's dict has its private (SGI/PPI)
// masks, its list registers as last saved and its counters.
static mp_obj_t vm_core_vgic(mp_obj_t self_in) {
    vm_t *vm = vm_get(self_in);
    vgic_t *g = &vm->vgic;
    if (!g->present) {
        return mp_const_none;
    }
    mp_obj_t d = mp_obj_new_dict(0);
    dict_set(d, "enabled", mp_obj_new_bool(g->enabled));
    dict_set(d, "list_registers", MP_OBJ_NEW_SMALL_INT(g->n_lr));
    dict_set(d, "spi_enabled", u32_words(g->enabled_w, VGIC_WORDS));
    dict_set(d, "spi_pending", u32_words(g->pending_w, VGIC_WORDS));
    dict_set(d, "spi_level", u32_words(g->level_w, VGIC_WORDS));
    dict_set(d, "spi_active", u32_words(g->queued_w, VGIC_WORDS));
    dict_set(d, "spi_forwarded", u32_words(g->hw_w, VGIC_WORDS));
    dict_set(d, "forwarded_taken", mp_obj_new_int_from_uint(g->hw_taken));
    dict_set(d, "targets", mp_obj_new_bytes(g->target, VGIC_NR_IRQS));
    mp_obj_t cpus = mp_obj_new_list(0, NULL);
    for (unsigned int k = 0; k < vm->n_vcpus; ++k) {
        vgic_cpu_t *c = &g->cpu[k];
        mp_obj_t cd = mp_obj_new_dict(0);
        dict_set(cd, "enabled", mp_obj_new_int_from_uint(c->enabled));
        dict_set(cd, "pending", mp_obj_new_int_from_uint(c->pending | c->level));
        dict_set(cd, "active", mp_obj_new_int_from_uint(c->queued));
        mp_obj_t lrs = mp_obj_new_list(0, NULL);
        for (unsigned int i = 0; i < g->n_lr; ++i) {
            mp_obj_list_append(lrs, mp_obj_new_int_from_uint((c->lr_live >> i) & 1 ? c->lr[i] : 0));
        }
        dict_set(cd, "lr", lrs);
        dict_set(cd, "injected", mp_obj_new_int_from_uint(c->injected));
        dict_set(cd, "maintenance", mp_obj_new_int_from_uint(c->maintenance));
        dict_set(cd, "kicks", mp_obj_new_int_from_uint(c->kicks));
        mp_obj_list_append(cpus, cd);
    }
    dict_set(d, "cpus", cpus);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_1(vm_core_vgic_obj, vm_core_vgic);

static void vm_core_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        dest[1] = MP_OBJ_SENTINEL;      // not stored here: continue to locals
        return;
    }
    vm_core_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->vm != NULL && attr == MP_QSTR_ram_pa) {
        dest[0] = mp_obj_new_int_from_uint(self->vm->ram_pa);
    } else if (self->vm != NULL && attr == MP_QSTR_ram_size) {
        dest[0] = mp_obj_new_int_from_uint(self->vm->ram_size);
    } else if (self->vm != NULL && attr == MP_QSTR_vtcr) {
        dest[0] = mp_obj_new_int_from_uint(self->vm->s2.vtcr);
    } else if (self->vm != NULL && attr == MP_QSTR_ipa_bits) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(self->vm->s2.ipa_bits);
    } else if (self->vm != NULL && attr == MP_QSTR_stage2_block) {
        dest[0] = mp_obj_new_int_from_ull(self->vm->ram_block);
    } else {
        dest[1] = MP_OBJ_SENTINEL;
    }
}

static const mp_rom_map_elem_t vm_core_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&vm_core_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&vm_core_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_zero), MP_ROM_PTR(&vm_core_zero_obj) },
    { MP_ROM_QSTR(MP_QSTR_map), MP_ROM_PTR(&vm_core_map_obj) },
    { MP_ROM_QSTR(MP_QSTR_copy_from_pa), MP_ROM_PTR(&vm_core_copy_from_pa_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&vm_core_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_start), MP_ROM_PTR(&vm_core_start_obj) },
    { MP_ROM_QSTR(MP_QSTR_stop), MP_ROM_PTR(&vm_core_stop_obj) },
    { MP_ROM_QSTR(MP_QSTR_resume), MP_ROM_PTR(&vm_core_resume_obj) },
    { MP_ROM_QSTR(MP_QSTR_devices), MP_ROM_PTR(&vm_core_devices_obj) },
    { MP_ROM_QSTR(MP_QSTR_wait), MP_ROM_PTR(&vm_core_wait_obj) },
    { MP_ROM_QSTR(MP_QSTR_power), MP_ROM_PTR(&vm_core_power_obj) },
    { MP_ROM_QSTR(MP_QSTR_reg), MP_ROM_PTR(&vm_core_reg_obj) },
    { MP_ROM_QSTR(MP_QSTR_state), MP_ROM_PTR(&vm_core_state_obj) },
    { MP_ROM_QSTR(MP_QSTR_irq), MP_ROM_PTR(&vm_core_irq_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset_irqs), MP_ROM_PTR(&vm_core_reset_irqs_obj) },
    { MP_ROM_QSTR(MP_QSTR_forward), MP_ROM_PTR(&vm_core_forward_obj) },
    { MP_ROM_QSTR(MP_QSTR_publish), MP_ROM_PTR(&vm_core_publish_obj) },
    { MP_ROM_QSTR(MP_QSTR_post), MP_ROM_PTR(&vm_core_post_obj) },
    { MP_ROM_QSTR(MP_QSTR_vgic), MP_ROM_PTR(&vm_core_vgic_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&vm_core_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&vm_core_close_obj) },
};
static MP_DEFINE_CONST_DICT(vm_core_locals, vm_core_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    vm_core_type,
    MP_QSTR_Core,
    MP_TYPE_FLAG_NONE,
    make_new, vm_core_make_new,
    attr, vm_core_attr,
    locals_dict, &vm_core_locals
    );

static mp_obj_t vm_free_ram(void) {
    uint64_t base, size;
    vm_guest_memory(&base, &size);
    mp_obj_t t[2] = { mp_obj_new_int_from_uint(base), mp_obj_new_int_from_uint(size) };
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_0(vm_free_ram_obj, vm_free_ram);

static mp_obj_t vm_pa_bits(void) {
    return MP_OBJ_NEW_SMALL_INT(stage2_pa_bits());
}
static MP_DEFINE_CONST_FUN_OBJ_0(vm_pa_bits_obj, vm_pa_bits);

static mp_obj_t vm_levels(void) {
    return MP_OBJ_NEW_SMALL_INT(stage2_levels());
}
static MP_DEFINE_CONST_FUN_OBJ_0(vm_levels_obj, vm_levels);

static const mp_rom_map_elem_t vm_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__vm) },
    { MP_ROM_QSTR(MP_QSTR_Core), MP_ROM_PTR(&vm_core_type) },
    { MP_ROM_QSTR(MP_QSTR_free_ram), MP_ROM_PTR(&vm_free_ram_obj) },
    { MP_ROM_QSTR(MP_QSTR_pa_bits), MP_ROM_PTR(&vm_pa_bits_obj) },
    { MP_ROM_QSTR(MP_QSTR_levels), MP_ROM_PTR(&vm_levels_obj) },
    { MP_ROM_QSTR(MP_QSTR_STAGE2_BLOCK), MP_ROM_INT(VM_STAGE2_BLOCK) },
    { MP_ROM_QSTR(MP_QSTR_RAM_IPA), MP_ROM_INT(VM_RAM_IPA) },
    { MP_ROM_QSTR(MP_QSTR_MAX_VCPUS), MP_ROM_INT(VM_MAX_VCPUS) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_MMIO), MP_ROM_INT(VM_EXIT_MMIO) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_PSCI), MP_ROM_INT(VM_EXIT_PSCI) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_FAULT), MP_ROM_INT(VM_EXIT_FAULT) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_STOPPED), MP_ROM_INT(VM_EXIT_STOPPED) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_DISABLED), MP_ROM_INT(VM_EXIT_DISABLED) },
    { MP_ROM_QSTR(MP_QSTR_EXIT_DEVICE_ERROR), MP_ROM_INT(EXIT_DEVICE_ERROR) },
};
static MP_DEFINE_CONST_DICT(vm_module_globals, vm_module_globals_table);

const mp_obj_module_t vm_c_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&vm_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__vm, vm_c_module);
