// `_vcpu`: the C core under firmware/vcpu.py. Module glue only: the types
// are in vcpu_core_obj.c (VCpuCore) and vcpu_exit_obj.c (VmExit).
#include "py/runtime.h"
#include "core/vcpu.h"
#include "modvcpu.h"

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
