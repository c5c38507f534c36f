// aarch64.SDCard(): the board's SD card as a MicroPython block device
// (readblocks/writeblocks/ioctl, see extmod/vfs.h), for vfs.VfsFat; the
// card's first FAT partition is mounted at /sd by firmware/_sdcard.py.
//
// The controllers to try are the board's (BOARD_SDHCI_* in mpconfigboard.h):
// on a Pi 4 the card slot is EMMC2; QEMU 10's raspi4b attaches its
// `-drive if=sd` to the older EMMC instead, tried only when its card-detect
// line says a card is there. The card stays set up across soft resets (its
// state lives outside the heap), so a soft reset costs no re-initialisation.
#include <string.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "extmod/vfs.h"
#include "aarch64.h"
#include "core/mbox_bcm2711.h"
#include "core/sdhci.h"

#if defined(BOARD_SDHCI_BASE)

typedef struct {
    mp_obj_base_t base;
} sdcard_obj_t;

static const sdcard_obj_t sdcard_obj = { { &aarch64_sdcard_type } };
static sdhci_card_t card;
static const char *card_controller;

static const struct {
    uintptr_t base;
    const char *name;
    uint32_t clock_id;          // its input clock, as the GPU firmware names it
    bool needs_card_detect;     // try it only if its card-detect line says so
} controllers[] = {
    { BOARD_SDHCI_BASE, BOARD_SDHCI_NAME, BOARD_SDHCI_CLOCK_ID, false },
    #ifdef BOARD_SDHCI_ALT_BASE
    { BOARD_SDHCI_ALT_BASE, BOARD_SDHCI_ALT_NAME, BOARD_SDHCI_ALT_CLOCK_ID, true },
    #endif
};

static NORETURN void raise_card_error(int err, const char *what, uint32_t block) {
    static const uint8_t errnos[] = { 0, MP_ENODEV, MP_ETIMEDOUT, MP_EIO, MP_ENODEV };
    int e = err < 0 && -err < (int)sizeof(errnos) ? errnos[-err] : MP_EIO;
    vstr_t msg;
    mp_print_t print;
    vstr_init_print(&msg, 80, &print);
    if (what != NULL) {
        mp_printf(&print, "SD card %s, block %u: %s (CMD%u, status 0x%08x)", what, (unsigned)block,
            sdhci_error_text(err), card.last_command, (unsigned)card.last_status);
    } else {
        mp_printf(&print, "SD card: %s", sdhci_error_text(err));
    }
    mp_obj_t args[2] = { MP_OBJ_NEW_SMALL_INT(e), mp_obj_new_str_from_vstr(&msg) };
    nlr_raise(mp_obj_new_exception_args(&mp_type_OSError, 2, args));
}

static mp_obj_t sdcard_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    if (!card.ready) {
        int err = SDHCI_ENOCARD;
        for (size_t i = 0; i < MP_ARRAY_SIZE(controllers) && err == SDHCI_ENOCARD; i++) {
            if (controllers[i].needs_card_detect && !sdhci_card_detected(controllers[i].base)) {
                continue;
            }
            // The firmware's word on the clock (0: not answered, then the controller's own).
            err = sdhci_card_init(&card, controllers[i].base, mbox_clock_rate(controllers[i].clock_id));
            card_controller = controllers[i].name;
        }
        if (err) {
            card.ready = false;
            raise_card_error(err, NULL, 0);
        }
    }
    return MP_OBJ_FROM_PTR(&sdcard_obj);      // one slot: one device
}

// readblocks/writeblocks(block, buf): whole blocks; an unaligned buffer
// goes through a bounce block (the controller's data port is 32-bit).
static mp_obj_t sdcard_transfer(mp_obj_t block_in, mp_obj_t buf_in, bool write) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, write ? MP_BUFFER_READ : MP_BUFFER_WRITE);
    mp_int_t block = mp_obj_get_int(block_in);
    uint32_t count = buf.len / SDHCI_BLOCK_SIZE;
    if (buf.len % SDHCI_BLOCK_SIZE != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("buffer length must be a multiple of 512"));
    }
    if (block < 0 || (uint64_t)block + count > card.blocks) {
        mp_raise_ValueError(MP_ERROR_TEXT("block range outside the card"));
    }
    int err;
    if (((uintptr_t)buf.buf & 3) == 0) {
        err = write ? sdhci_write_blocks(&card, block, count, buf.buf) : sdhci_read_blocks(&card, block, count, buf.buf);
    } else {
        uint32_t bounce[SDHCI_BLOCK_SIZE / 4];
        uint8_t *p = buf.buf;
        err = 0;
        for (uint32_t i = 0; i < count && err == 0; i++, p += SDHCI_BLOCK_SIZE) {
            if (write) {
                memcpy(bounce, p, SDHCI_BLOCK_SIZE);
                err = sdhci_write_blocks(&card, block + i, 1, bounce);
            } else if ((err = sdhci_read_blocks(&card, block + i, 1, bounce)) == 0) {
                memcpy(p, bounce, SDHCI_BLOCK_SIZE);
            }
        }
    }
    if (err) {
        raise_card_error(err, write ? "write" : "read", block);
    }
    return MP_OBJ_NEW_SMALL_INT(0);
}

static mp_obj_t sdcard_readblocks(mp_obj_t self_in, mp_obj_t block_in, mp_obj_t buf_in) {
    return sdcard_transfer(block_in, buf_in, false);
}
static MP_DEFINE_CONST_FUN_OBJ_3(sdcard_readblocks_obj, sdcard_readblocks);

static mp_obj_t sdcard_writeblocks(mp_obj_t self_in, mp_obj_t block_in, mp_obj_t buf_in) {
    return sdcard_transfer(block_in, buf_in, true);
}
static MP_DEFINE_CONST_FUN_OBJ_3(sdcard_writeblocks_obj, sdcard_writeblocks);

static mp_obj_t sdcard_ioctl(mp_obj_t self_in, mp_obj_t cmd_in, mp_obj_t arg_in) {
    switch (mp_obj_get_int(cmd_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:            // set up by the constructor
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:            // writes complete before writeblocks returns
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return mp_obj_new_int_from_ull(card.blocks);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(SDHCI_BLOCK_SIZE);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(sdcard_ioctl_obj, sdcard_ioctl);

// info(): (controller, register base, blocks, high capacity, card clock in Hz).
static mp_obj_t sdcard_info(mp_obj_t self_in) {
    mp_obj_t items[5] = {
        mp_obj_new_str_from_cstr(card_controller),
        mp_obj_new_int_from_uint(card.base),
        mp_obj_new_int_from_ull(card.blocks),
        mp_obj_new_bool(card.high_capacity),
        mp_obj_new_int_from_uint(card.bus_clock_hz),
    };
    return mp_obj_new_tuple(5, items);
}
static MP_DEFINE_CONST_FUN_OBJ_1(sdcard_info_obj, sdcard_info);

static const mp_rom_map_elem_t sdcard_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&sdcard_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&sdcard_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&sdcard_ioctl_obj) },
    { MP_ROM_QSTR(MP_QSTR_info), MP_ROM_PTR(&sdcard_info_obj) },
};
static MP_DEFINE_CONST_DICT(sdcard_locals, sdcard_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    aarch64_sdcard_type,
    MP_QSTR_SDCard,
    MP_TYPE_FLAG_NONE,
    make_new, sdcard_make_new,
    locals_dict, &sdcard_locals
    );

#endif
