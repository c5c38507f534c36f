// Replacing the running firmware with another one staged in RAM (the
// chainload behind machine.bootloader()): check the image, park the other
// CPUs where the board's boot loader leaves secondaries, copy the image to
// the load address with the MMU and caches off, and enter it as the boot
// loader did.
#ifndef CORE_CHAINLOAD_H
#define CORE_CHAINLOAD_H

#include <stdint.h>

// What an image's arm64 Image header says (boot/start.S writes ours).
typedef struct {
    uint64_t text_offset;       // its load address above a 2 MiB aligned base
    uint64_t image_size;        // bytes it uses from the load address, NOLOAD sections too
    uint64_t load;              // where it would go: our own load address
    uint64_t own_text_offset;   // ours, for the message when they differ
} chainload_header_t;

// Where to stage an image of `size` bytes: a 2 MiB aligned address in RAM
// clear of this firmware, of what the new one will use from the load
// address (as large as ours, at least), and of the boot device tree, with
// room for the page the last steps run from. 0 if RAM has no such place.
uint64_t chainload_staging(uint64_t size);

// Is the image staged at `staged` (`size` bytes) a firmware this board can
// start in place of this one? NULL if so, else why not (the header's values
// in `h` for the message).
const char *chainload_check(uint64_t staged, uint64_t size, chainload_header_t *h);

// Stop the guests, park the other CPUs, copy the image to the load address
// and enter it at EL2 with x0 = the device tree address the boot loader
// gave this firmware. Only after chainload_check() said yes. Does not return.
void chainload_start(uint64_t staged, uint64_t size) __attribute__((noreturn));

#endif
