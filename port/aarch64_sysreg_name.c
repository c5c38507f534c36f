// A register argument: a name from the register table (firmware/sysregs.py,
// generated into genhdr/sysregs.h) or an encoding (op0, op1, CRn, CRm, op2);
// an unknown name is a ValueError naming the three closest names.
#include <stdio.h>
#include <string.h>

#include "py/runtime.h"
#include "genhdr/sysregs.h"
#include "aarch64.h"

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
    out->owned_named = def->owned_named;
    out->owned_names = def->owned_names;
    out->writable_names = def->writable_names;
    out->unwritable_why = NULL;
}

// An encoding the table does not know: why its writes are refused, or NULL
// if they may go ahead (sysregs.UNKNOWN_WRITES_REFUSED).
static const char *unknown_unwritable_why(const mp_int_t *f) {
    if (f[0] == 3 && f[2] == 4) {
        return SYSREG_UNKNOWN_SPECIAL_WHY;
    }
    if (f[1] == 4) {
        return SYSREG_UNKNOWN_EL2_WHY;
    }
    if (f[0] == 3 && (f[2] == 11 || f[2] == 15)) {
        return SYSREG_UNKNOWN_IMPDEF_WHY;
    }
    return NULL;
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
        const char *why = unknown_unwritable_why(f);
        *out = (aarch64_sysreg_t){ .enc = enc, .writable = why == NULL, .name = MP_QSTRnull, .owned_names = "",
                                   .writable_names = "", .unwritable_why = why };
        return;
    }
    mp_raise_msg_varg(&mp_type_TypeError,
        MP_ERROR_TEXT("register must be a name (str) or (op0, op1, CRn, CRm, op2), not %s"),
        mp_obj_get_type_str(reg_in));
}

void aarch64_describe_reg(char *buf, size_t len, const aarch64_sysreg_t *reg) {
    if (reg->name != MP_QSTRnull) {
        snprintf(buf, len, "%s", qstr_str(reg->name));
    } else {
        snprintf(buf, len, "S%u_%u_C%u_C%u_%u", 2 + ((reg->enc >> 14) & 1), (reg->enc >> 11) & 7,
            (reg->enc >> 7) & 15, (reg->enc >> 3) & 15, reg->enc & 7);
    }
}
