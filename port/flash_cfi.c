// aarch64.Flash(): the board's CFI NOR flash bank (QEMU virt's second pflash
// bank, which QEMU backs with a file on the host: -drive if=pflash,unit=1) as a
// block device for littlefs, mounted at /flash by firmware/_flash.py.
//
// The bank is BOARD_FLASH_CHIPS chips of 16 bits side by side on a 32-bit bus
// (QEMU's virt: two x16 chips, 256 KiB erase blocks across the pair, a 2 KiB
// write buffer per chip). Every command goes to each chip at once, so a
// command word is the command byte repeated in each chip's lane, and a status
// word holds each chip's status register. The Intel/Sharp command set (CFI
// primary command set 1):
//
//   read array  0xFF, then reads are plain memory reads
//   CFI query   0x98, then word i holds byte i of the query table
//   erase       0x20 then 0xD0 at an address in the block
//   program     0xE8 at the buffer's address, the word count - 1, the words,
//               0xD0; all inside one aligned write buffer
//   status      SR7 ready, SR5 erase error, SR4 program error, SR3 no VPP,
//               SR1 block locked; 0x50 clears the error bits
//
// The block protocol is MicroPython's (readblocks/writeblocks/ioctl, with
// the offset form littlefs uses; see extmod/vfs.h). A failed or timed-out
// erase or program returns -EIO or -ETIMEDOUT, as the protocol asks, so the
// filesystem call raises OSError(EIO) or OSError(ETIMEDOUT) and the filesystem
// code is never unwound mid-operation; the flash's status word for the last
// failure is in Flash.last_error(). Bad arguments raise ValueError.
//
// The bank is mapped as Device memory (core/mmu.c): every access here is
// aligned (32-bit, and 64-bit loads in blank()), which Device memory requires.
#include <string.h>

#include "py/mperrno.h"
#include "py/runtime.h"
#include "extmod/vfs.h"
#include "core/timer.h"
#include "aarch64.h"

#ifdef BOARD_FLASH_BASE

#define CMD(c)              ((uint32_t)(c) * 0x00010001u)    // the byte in both chips' lanes
#define CMD_READ_ARRAY      CMD(0xff)
#define CMD_QUERY           CMD(0x98)
#define CMD_CLEAR_STATUS    CMD(0x50)
#define CMD_ERASE           CMD(0x20)
#define CMD_CONFIRM         CMD(0xd0)
#define CMD_BUFFER_PROGRAM  CMD(0xe8)
#define CMD_WORD_PROGRAM    CMD(0x40)

#define SR_READY            CMD(0x80)
#define SR_ERRORS           CMD(0x3a)      // erase, program, VPP, lock errors

#define ERASE_TIMEOUT_MS    (20000)        // CFI's worst case for a 128 KiB block is a few s
#define PROGRAM_TIMEOUT_MS  (1000)

typedef struct {
    mp_obj_base_t base;
} flash_obj_t;

// What the CFI query said, read once.
static struct {
    bool probed;
    uint32_t block_size;        // one erase block across the chips
    uint32_t block_count;
    uint32_t buffer_size;       // one write buffer across the chips
    uint32_t last_status;       // status word of the last failure, 0: none
    const char *last_op;
} flash;

static volatile uint32_t *word_at(uint32_t offset) {
    return (volatile uint32_t *)(BOARD_FLASH_BASE + offset);
}

static void command(uint32_t offset, uint32_t cmd) {
    *word_at(offset) = cmd;
}

// Whether the bank is in read-array mode. It is left in status mode after a
// successful erase or program, and put back only before the next read: QEMU
// remaps the whole bank (and flushes every CPU's TLB) at each switch, and the
// switch back costs as much as the program itself.
static bool array_mode = true;

static void read_array(void) {
    if (!array_mode) {
        command(0, CMD_READ_ARRAY);
        array_mode = true;
    }
}

// Wait for every chip's SR7 (the bank stays in status mode). 0, -EIO (the status
// reported an error) or -ETIMEDOUT.
static int wait_ready(uint32_t offset, uint32_t timeout_ms, const char *op) {
    uint64_t deadline = timer_counter() + timer_ms_to_ticks(timeout_ms);
    uint32_t sr;
    array_mode = false;
    while (((sr = *word_at(offset)) & SR_READY) != SR_READY) {
        if (timer_counter() > deadline) {
            // A busy chip ignores read array: the next read sends it again.
            flash.last_status = sr, flash.last_op = op;
            return -MP_ETIMEDOUT;
        }
    }
    if (sr & SR_ERRORS) {
        command(offset, CMD_CLEAR_STATUS);
        read_array();
        flash.last_status = sr, flash.last_op = op;
        return -MP_EIO;
    }
    return 0;               // read_array() before the next read
}

// The bank's geometry from its CFI query table, checked against the board's.
static void flash_probe(void) {
    if (flash.probed) {
        return;
    }
    command(0, CMD_QUERY);
    array_mode = false;
    uint8_t q[0x31];
    for (size_t i = 0; i < sizeof(q); i++) {
        q[i] = *word_at(i * 4) & 0xff;         // chip 0's lane; chip 1 answers the same
    }
    read_array();
    if (q[0x10] != 'Q' || q[0x11] != 'R' || q[0x12] != 'Y' || q[0x13] != 1) {
        mp_raise_msg_varg(&mp_type_OSError, MP_ERROR_TEXT("no Intel-command-set CFI flash at 0x%08x"),
            (unsigned)BOARD_FLASH_BASE);
    }
    uint32_t blocks = (q[0x2d] | q[0x2e] << 8) + 1;
    uint32_t chip_block = (q[0x2f] | q[0x30] << 8) * 256;
    flash.block_size = chip_block * BOARD_FLASH_CHIPS;
    flash.block_count = blocks;
    flash.buffer_size = (q[0x2a] ? 1u << q[0x2a] : 4) * BOARD_FLASH_CHIPS;
    if (q[0x2c] != 1 || (uint64_t)flash.block_size * blocks != BOARD_FLASH_SIZE) {
        mp_raise_msg_varg(&mp_type_OSError, MP_ERROR_TEXT("flash at 0x%08x: %u blocks of %u bytes, not the board's %u bytes"),
            (unsigned)BOARD_FLASH_BASE, (unsigned)blocks, (unsigned)flash.block_size, (unsigned)BOARD_FLASH_SIZE);
    }
    flash.probed = true;
}

static int flash_erase(uint32_t block) {
    uint32_t offset = block * flash.block_size;
    command(offset, CMD_ERASE);
    command(offset, CMD_CONFIRM);
    return wait_ready(offset, ERASE_TIMEOUT_MS, "erase");
}

// Program `len` bytes (a multiple of 4) at `offset` (4-aligned), one write
// buffer at a time; a single word with the word program command (QEMU's
// model takes no one-word buffer).
static int flash_program(uint32_t offset, const uint8_t *src, size_t len) {
    while (len > 0) {
        size_t room = flash.buffer_size - (offset & (flash.buffer_size - 1));
        size_t n = len < room ? len : room;
        uint32_t words = n / 4;
        uint32_t w;
        if (words == 1) {
            memcpy(&w, src, 4);
            command(offset, CMD_WORD_PROGRAM);
            command(offset, w);
        } else {
            command(offset, CMD_BUFFER_PROGRAM);
            command(offset, CMD(words - 1));    // the count, in each chip's words
            for (uint32_t i = 0; i < words; i++) {
                memcpy(&w, src + i * 4, 4);
                command(offset + i * 4, w);
            }
            command(offset, CMD_CONFIRM);
        }
        int err = wait_ready(offset, PROGRAM_TIMEOUT_MS, "program");
        if (err) {
            return err;
        }
        offset += n, src += n, len -= n;
    }
    return 0;
}

static void flash_read(uint32_t offset, uint8_t *dst, size_t len) {
    read_array();
    while (len > 0) {
        uint32_t w = *word_at(offset & ~3u);
        size_t skip = offset & 3, n = 4 - skip < len ? 4 - skip : len;
        memcpy(dst, (uint8_t *)&w + skip, n);
        offset += n, dst += n, len -= n;
    }
}

static mp_obj_t flash_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    flash_probe();
    static const flash_obj_t flash_obj = { { &aarch64_flash_type } };
    return MP_OBJ_FROM_PTR(&flash_obj);     // one bank: one device
}

// The byte offset of [block * size + offset, + len) in the bank, or ValueError.
static uint32_t flash_range(size_t n_args, const mp_obj_t *args, mp_buffer_info_t *buf, int flags) {
    mp_int_t block = mp_obj_get_int(args[1]);
    mp_get_buffer_raise(args[2], buf, flags);
    mp_int_t offset = n_args == 4 ? mp_obj_get_int(args[3]) : 0;
    if (block < 0 || offset < 0 || (uint64_t)block >= flash.block_count
        || (uint64_t)block * flash.block_size + offset + buf->len > BOARD_FLASH_SIZE) {
        mp_raise_ValueError(MP_ERROR_TEXT("block range outside the flash"));
    }
    return block * flash.block_size + offset;
}

static mp_obj_t flash_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    uint32_t offset = flash_range(n_args, args, &buf, MP_BUFFER_WRITE);
    flash_read(offset, buf.buf, buf.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(flash_readblocks_obj, 3, 4, flash_readblocks);

// writeblocks(block, buf, offset): program only, the blocks were erased
// (littlefs erases through ioctl first). writeblocks(block, buf): whole
// blocks, each erased first.
static mp_obj_t flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    uint32_t offset = flash_range(n_args, args, &buf, MP_BUFFER_READ);
    if ((offset | buf.len) & 3) {
        mp_raise_ValueError(MP_ERROR_TEXT("flash writes are whole 32-bit words"));
    }
    if (n_args == 3) {
        if (buf.len % flash.block_size) {
            mp_raise_ValueError(MP_ERROR_TEXT("writeblocks without an offset writes whole blocks"));
        }
        for (uint32_t b = 0; b < buf.len / flash.block_size; b++) {
            int err = flash_erase(offset / flash.block_size + b);
            if (err) {
                return MP_OBJ_NEW_SMALL_INT(err);
            }
        }
    }
    return MP_OBJ_NEW_SMALL_INT(flash_program(offset, buf.buf, buf.len));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(flash_writeblocks_obj, 3, 4, flash_writeblocks);

static mp_obj_t flash_ioctl(mp_obj_t self_in, mp_obj_t cmd_in, mp_obj_t arg_in) {
    switch (mp_obj_get_int(cmd_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:            // every program has finished when it returns
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(flash.block_count);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(flash.block_size);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE: {
            mp_int_t block = mp_obj_get_int(arg_in);
            if (block < 0 || (uint64_t)block >= flash.block_count) {
                mp_raise_ValueError(MP_ERROR_TEXT("block outside the flash"));
            }
            return MP_OBJ_NEW_SMALL_INT(flash_erase(block));
        }
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(flash_ioctl_obj, flash_ioctl);

// blank(): every erase block of the bank is all 0xff (erased) or all 0 (the
// new, empty file the host tools give QEMU): nothing littlefs ever wrote is
// there (its blocks hold magic strings and CRCs), so a filesystem may be made
// on it without losing anything, even after a first format cut short. Every
// first boot on a new file reads all 64 MiB: 64-bit loads, four at a time.
static mp_obj_t flash_blank(mp_obj_t self_in) {
    (void)self_in;
    read_array();
    const volatile uint64_t *p = (const volatile uint64_t *)BOARD_FLASH_BASE;
    size_t per_block = flash.block_size / 8;
    for (uint32_t b = 0; b < flash.block_count; b++, p += per_block) {
        uint64_t any = 0, all = ~0ull;
        for (size_t i = 0; i < per_block; i += 4) {
            uint64_t w0 = p[i], w1 = p[i + 1], w2 = p[i + 2], w3 = p[i + 3];
            any |= w0 | w1 | w2 | w3;
            all &= w0 & w1 & w2 & w3;
        }
        if (any != 0 && all != ~0ull) {
            return mp_const_false;
        }
    }
    return mp_const_true;
}
static MP_DEFINE_CONST_FUN_OBJ_1(flash_blank_obj, flash_blank);

// last_error(): None, or (operation, status word) of the last failed erase
// or program: the bits of each chip's status register, as the datasheet names them.
static mp_obj_t flash_last_error(mp_obj_t self_in) {
    (void)self_in;
    if (flash.last_op == NULL) {
        return mp_const_none;
    }
    mp_obj_t t[2] = { mp_obj_new_str_from_cstr(flash.last_op), mp_obj_new_int_from_uint(flash.last_status) };
    return mp_obj_new_tuple(2, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(flash_last_error_obj, flash_last_error);

static const mp_rom_map_elem_t flash_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&flash_ioctl_obj) },
    { MP_ROM_QSTR(MP_QSTR_blank), MP_ROM_PTR(&flash_blank_obj) },
    { MP_ROM_QSTR(MP_QSTR_last_error), MP_ROM_PTR(&flash_last_error_obj) },
    { MP_ROM_QSTR(MP_QSTR_BASE), MP_ROM_INT(BOARD_FLASH_BASE) },
    { MP_ROM_QSTR(MP_QSTR_SIZE), MP_ROM_INT(BOARD_FLASH_SIZE) },
};
static MP_DEFINE_CONST_DICT(flash_locals, flash_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    aarch64_flash_type,
    MP_QSTR_Flash,
    MP_TYPE_FLAG_NONE,
    make_new, flash_make_new,
    locals_dict, &flash_locals
    );

#endif // BOARD_FLASH_BASE
