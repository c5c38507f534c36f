// Argument parsers shared by the port's modules (aarch64, _vcpu, machine):
// a CPU id, a 64-bit unsigned value, and the one optional keyword of a hot call.
#include <string.h>

#include "py/objint.h"
#include "py/runtime.h"
#include "core/cpu.h"
#include "aarch64.h"

// What aarch64_cpu_arg() (aarch64.h) raises for anything but an online CPU's id.
void aarch64_raise_bad_cpu(mp_obj_t cpu_in) {
    if (!mp_obj_is_int(cpu_in)) {
        mp_raise_TypeError(MP_ERROR_TEXT("cpu must be an int or None"));
    }
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("CPU %d is not online (online: %u)"),
        (int)mp_obj_get_int(cpu_in), cpu_online_count());
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
