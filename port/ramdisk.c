// aarch64.RamDisk(): a block device over a static RAM region, for the
// filesystem mounted at / (firmware/_boot.py). The region lives outside the
// MicroPython heap, so its files survive a soft reset (mpremote resets the
// board before most commands); a hard reset or power-off empties it.
//
// The block protocol is MicroPython's (readblocks/writeblocks/ioctl, with
// the extended offset form littlefs uses): see extmod/vfs.h.
#include <string.h>

#include "py/runtime.h"
#include "extmod/vfs.h"
#include "aarch64.h"

#define RAMDISK_BLOCK_SIZE  (512)
#define RAMDISK_BLOCKS      (4096)          // 2 MiB

static uint8_t ramdisk[RAMDISK_BLOCKS * RAMDISK_BLOCK_SIZE] __attribute__((aligned(4096)));
static bool written;        // since the last hard reset: the disk is no longer blank

typedef struct {
    mp_obj_base_t base;
} ramdisk_obj_t;

static const ramdisk_obj_t ramdisk_obj = { { &aarch64_ramdisk_type } };

static mp_obj_t ramdisk_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    return MP_OBJ_FROM_PTR(&ramdisk_obj);     // one region: one device
}

// The byte range [block * size + offset, + len) or ValueError.
static uint8_t *ramdisk_range(size_t n_args, const mp_obj_t *args, mp_buffer_info_t *buf, int flags) {
    mp_int_t block = mp_obj_get_int(args[1]);
    mp_get_buffer_raise(args[2], buf, flags);
    mp_int_t offset = n_args == 4 ? mp_obj_get_int(args[3]) : 0;
    if (block < 0 || offset < 0 || block >= RAMDISK_BLOCKS
        || (size_t)(block * RAMDISK_BLOCK_SIZE + offset) + buf->len > sizeof(ramdisk)) {
        mp_raise_ValueError(MP_ERROR_TEXT("block range outside the RAM disk"));
    }
    return ramdisk + block * RAMDISK_BLOCK_SIZE + offset;
}

static mp_obj_t ramdisk_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    uint8_t *p = ramdisk_range(n_args, args, &buf, MP_BUFFER_WRITE);
    memcpy(buf.buf, p, buf.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_readblocks_obj, 3, 4, ramdisk_readblocks);

static mp_obj_t ramdisk_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    uint8_t *p = ramdisk_range(n_args, args, &buf, MP_BUFFER_READ);
    memcpy(p, buf.buf, buf.len);
    written = true;
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ramdisk_writeblocks_obj, 3, 4, ramdisk_writeblocks);

// blank(): nothing was written since the last hard reset (the disk is all zeros).
static mp_obj_t ramdisk_blank(mp_obj_t self_in) {
    (void)self_in;
    return mp_obj_new_bool(!written);
}
static MP_DEFINE_CONST_FUN_OBJ_1(ramdisk_blank_obj, ramdisk_blank);

static mp_obj_t ramdisk_ioctl(mp_obj_t self_in, mp_obj_t cmd_in, mp_obj_t arg_in) {
    switch (mp_obj_get_int(cmd_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:     // RAM needs no erase
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(RAMDISK_BLOCKS);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(RAMDISK_BLOCK_SIZE);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(ramdisk_ioctl_obj, ramdisk_ioctl);

static const mp_rom_map_elem_t ramdisk_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&ramdisk_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&ramdisk_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&ramdisk_ioctl_obj) },
    { MP_ROM_QSTR(MP_QSTR_blank), MP_ROM_PTR(&ramdisk_blank_obj) },
};
static MP_DEFINE_CONST_DICT(ramdisk_locals, ramdisk_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    aarch64_ramdisk_type,
    MP_QSTR_RamDisk,
    MP_TYPE_FLAG_NONE,
    make_new, ramdisk_make_new,
    locals_dict, &ramdisk_locals
    );
