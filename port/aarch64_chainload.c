// machine.bootloader([wait_ms]): wait on the console UART for a new build of
// this firmware, then start it in place of this one (`aarch64-el2 load`;
// after `mpremote bootloader` the firmware waits here the same way).
//
// The protocol is aarch64.receive's with a header in front, since the
// target learns the size from the line:
//   target: ACK                  ready for the header
//   host:   "EL2-LOAD", u32 size, u32 crc32, u32 block, u32 channel   little-endian
//   ...     aarch64.receive(staging, size, crc32, block, deflate=True, channel)'s
//           transfer: ACK, framed blocks (deflated where that helps), ACKs
// channel 1 takes the blocks from the virtio console (QEMU virt; the host
// asks aarch64.virtio_console() first), 0 from the UART; the header and the
// ACKs always go over the UART.
// The image goes to a staging area in free RAM (core/chainload.c picks it),
// is checked there (the transfer's CRC-32, then that it is an arm64 Image
// of this board's firmware), and only then does the firmware give up the
// machine: a corrupted, cut or foreign image is refused with an exception
// and this firmware keeps running.
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "shared/runtime/pyexec.h"
#include "core/chainload.h"
#include "core/virtio_console.h"
#include "core/vm.h"
#include "aarch64.h"

#define HEADER_MAGIC        "EL2-LOAD"
#define HEADER_LEN          24
#define BLOCK_MAX           (1u << 20)      // the host's block, at most (it sends 64 KiB)
#define RECEIVE_IDLE_MS     1000            // as aarch64.receive's default

static uint32_t le32(const uint8_t *p) {
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

NORETURN void aarch64_bootloader(size_t n_args, const mp_obj_t *args) {
    mp_int_t wait_ms = n_args > 0 && args[0] != mp_const_none ? mp_obj_get_int(args[0]) : 0;
    if (vm_live()) {
        // Its RAM runs from the firmware's end up to where the image may be
        // staged; and a transfer that fails must leave it as it was.
        mp_raise_msg(&mp_type_OSError,
            MP_ERROR_TEXT("bootloader: a VM is live: close it (vm.VM.close(), or a soft reset) before loading a firmware"));
    }
    if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
        mp_printf(&mp_plat_print, "Waiting for a firmware image on this line (aarch64-el2 load FILE); Ctrl-C cancels.\n");
    }
    uint8_t h[HEADER_LEN];
    if (!aarch64_receive_header((const uint8_t *)HEADER_MAGIC, sizeof(HEADER_MAGIC) - 1, h, sizeof(h), wait_ms)) {
        mp_raise_msg_varg(&mp_type_OSError,
            MP_ERROR_TEXT("[Errno %d] ETIMEDOUT: bootloader: no firmware image came within %d ms"),
            MP_ETIMEDOUT, (int)wait_ms);
    }
    uint32_t size = le32(h + 8), crc = le32(h + 12), block = le32(h + 16), channel = le32(h + 20);
    if (size == 0 || block == 0 || block > BLOCK_MAX || channel > 1) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("bootloader: bad header: %u bytes in blocks of %u over channel %u"),
            (unsigned)size, (unsigned)block, (unsigned)channel);
    }
    uint64_t staged = chainload_staging(size);
    if (!staged) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("bootloader: no free RAM to stage %u bytes (see aarch64.ram())"), (unsigned)size);
    }
    aarch64_receive_into(staged, size, crc, block, RECEIVE_IDLE_MS, true, (int)channel);
    chainload_header_t hd;
    const char *why = chainload_check(staged, size, &hd);
    if (why) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("bootloader: the %u bytes received (CRC-32 good) are refused: %s"
                " (text_offset 0x%lx, this firmware's 0x%lx; image_size 0x%lx)"),
            (unsigned)size, why, (unsigned long)hd.text_offset, (unsigned long)hd.own_text_offset,
            (unsigned long)hd.image_size);
    }
    mp_printf(&mp_plat_print, "bootloader: %u bytes, CRC-32 0x%08x good; starting them at 0x%lx\n",
        (unsigned)size, (unsigned)crc, (unsigned long)hd.load);
    // The virtio console's rings and buffers are in this firmware's memory,
    // which the new one overwrites: the device lets go of them first.
    virtio_console_stop();
    chainload_start(staged, size);
}
