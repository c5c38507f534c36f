// The `aarch64` module: system registers by name or encoding, guarded
// against faults; the two vector tables; the per-CPU IRQ_HANDLER slots.
// Module glue only: each type and concern has its own aarch64_*.c file.
#include "py/objstr.h"
#include "py/runtime.h"
#include "core/boot_info.h"
#include "core/cpu.h"
#include "core/gic.h"
#include "core/mmu.h"
#include "aarch64.h"
#include "genhdr/el2_version.h"

extern uint64_t boot_ticks;     // main.c: the counter at the first prompt

static mp_obj_t aarch64_current_el(void) {
    return MP_OBJ_NEW_SMALL_INT(FIELD_GET(CURRENTEL_EL, SYSREG_READ(CurrentEL)));
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

// ram() -> ((base, size), ...): the RAM the EL2 map covers, which machine.mem*
// and the firmware may use: the boot loader's device tree's, in whole 2 MiB
// blocks (the board's default without a tree).
static mp_obj_t aarch64_ram(void) {
    const mem_range_t *ram;
    unsigned int n = mmu_ram_ranges(&ram);
    mp_obj_t items[MMU_MAX_RAM_RANGES];
    for (unsigned int i = 0; i < n; ++i) {
        mp_obj_t pair[2] = { mp_obj_new_int_from_uint(ram[i].base), mp_obj_new_int_from_uint(ram[i].size) };
        items[i] = mp_obj_new_tuple(2, pair);
    }
    return mp_obj_new_tuple(n, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(aarch64_ram_obj, aarch64_ram);

// gic() -> {'kind': 'GICv2' | 'GICv3' | ..., 'driven': bool, 'distributor':
// address, 'redistributors': (RD_base per CPU, 0 for one not up) or None}:
// the interrupt controller the firmware found, and whether it drives it
// (if not, interrupt sources are polled).
static mp_obj_t aarch64_gic(void) {
    static const qstr kinds[] = {
        [GIC_UNKNOWN] = MP_QSTR_unknown, [GIC_V2] = MP_QSTR_GICv2,
        [GIC_V2_SECURE_ONLY] = MP_QSTR_GICv2_secure_only, [GIC_V3] = MP_QSTR_GICv3, [GIC_V4] = MP_QSTR_GICv4,
    };
    mp_obj_t d = mp_obj_new_dict(4);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_kind), MP_OBJ_NEW_QSTR(kinds[gic_kind()]));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_driven), mp_obj_new_bool(gic_driven()));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_distributor), mp_obj_new_int_from_uint(BOARD_GICD_BASE));
    mp_obj_t rds = mp_const_none;
    if (gic_driven() && gic_kind() == GIC_V3) {
        mp_obj_t items[MAX_CPUS];
        for (unsigned int i = 0; i < MAX_CPUS; ++i) {
            items[i] = mp_obj_new_int_from_uint(gic_redistributor(i));
        }
        rds = mp_obj_new_tuple(MAX_CPUS, items);
    }
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_redistributors), rds);
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(aarch64_gic_obj, aarch64_gic);

// VERSION: the firmware's version, the host tools' from the same source
// tree (pyproject.toml); aarch64-el2 --version warns when they differ.
static MP_DEFINE_STR_OBJ(aarch64_version_obj, EL2_FIRMWARE_VERSION);

// Link-time addresses cannot sit in a ROM table, so these come from __getattr__.
static mp_obj_t aarch64_getattr(mp_obj_t attr_in) {
    qstr attr = mp_obj_str_get_qstr(attr_in);
    if (attr == MP_QSTR_VCPU_VECTORS) {
        return mp_obj_new_int_from_uint((uintptr_t)exception_vector_base_vcpu);
    }
    if (attr == MP_QSTR_HOST_VECTORS) {
        return mp_obj_new_int_from_uint((uintptr_t)host_exception_vectors);
    }
    if (attr == MP_QSTR_DEVICE_TREE) {
        // the boot loader's device tree the firmware read at boot, or None
        return boot_info_dtb() ? mp_obj_new_int_from_uint(boot_info_dtb()) : mp_const_none;
    }
    if (attr == MP_QSTR_BOOT_TICKS) {
        // CNTPCT_EL0 when the runtime was ready for the first prompt
        return mp_obj_new_int_from_uint(boot_ticks);
    }
    return MP_OBJ_NULL;
}
static MP_DEFINE_CONST_FUN_OBJ_1(aarch64_getattr_obj, aarch64_getattr);

static const mp_rom_map_elem_t aarch64_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_aarch64) },
    { MP_ROM_QSTR(MP_QSTR_current_el), MP_ROM_PTR(&aarch64_current_el_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpu_id), MP_ROM_PTR(&aarch64_cpu_id_obj) },
    { MP_ROM_QSTR(MP_QSTR_cpu_count), MP_ROM_PTR(&aarch64_cpu_count_obj) },
    { MP_ROM_QSTR(MP_QSTR_MAX_CPUS), MP_ROM_INT(MAX_CPUS) },
    { MP_ROM_QSTR(MP_QSTR_VERSION), MP_ROM_PTR(&aarch64_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_ram), MP_ROM_PTR(&aarch64_ram_obj) },
    { MP_ROM_QSTR(MP_QSTR_gic), MP_ROM_PTR(&aarch64_gic_obj) },
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
    { MP_ROM_QSTR(MP_QSTR_receive), MP_ROM_PTR(&aarch64_receive_obj) },
    { MP_ROM_QSTR(MP_QSTR_virtio_console), MP_ROM_PTR(&aarch64_virtio_console_obj) },
    { MP_ROM_QSTR(MP_QSTR_uart_baud), MP_ROM_PTR(&aarch64_uart_baud_obj) },
    { MP_ROM_QSTR(MP_QSTR_uart_baud_log), MP_ROM_PTR(&aarch64_uart_baud_log_obj) },
    { MP_ROM_QSTR(MP_QSTR_RamDisk), MP_ROM_PTR(&aarch64_ramdisk_type) },
    #if defined(BOARD_SDHCI_BASE)
    { MP_ROM_QSTR(MP_QSTR_SDCard), MP_ROM_PTR(&aarch64_sdcard_type) },
    #endif
    #ifdef BOARD_FLASH_BASE
    { MP_ROM_QSTR(MP_QSTR_Flash), MP_ROM_PTR(&aarch64_flash_type) },
    #endif
    { MP_ROM_QSTR(MP_QSTR___getattr__), MP_ROM_PTR(&aarch64_getattr_obj) },
};
static MP_DEFINE_CONST_DICT(aarch64_module_globals, aarch64_module_globals_table);

const mp_obj_module_t aarch64_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&aarch64_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_aarch64, aarch64_module);
