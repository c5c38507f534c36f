// A virtio console on a virtio-mmio transport, receive side only, polled:
// QEMU virt's second channel for bulk uploads (aarch64.receive(..., channel=1)).
// The PL011's 16-byte FIFO limits what QEMU hands over per turn of its main
// loop; a virtio console takes up to 4 KiB per turn straight into RAM.
//
// Boards without virtio-mmio transports (BOARD_VIRTIO_MMIO_BASE undefined:
// the Raspberry Pi 4) build stubs that say there is no device.
#ifndef CORE_VIRTIO_CONSOLE_H
#define CORE_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Find and start the device (once; later calls say what the first found):
// true if a console answered and its receive queue is stocked with buffers.
bool virtio_console_start(void);
// Where it was found, for messages: its transport's address and version
// (1 legacy, 2 modern); 0 if none.
uintptr_t virtio_console_base(void);
unsigned int virtio_console_version(void);

// Up to `max` received bytes into `buf` (0: none waiting). Buffers emptied
// go back to the device at once.
size_t virtio_console_read(uint8_t *buf, size_t max);
// For a caller that waits with WFI and IRQs masked at the CPU: wake(true)
// lets the device's interrupt end a WFI (it is never taken); before each
// WFI, rearm() clears the interrupt already told and says whether bytes
// came meanwhile, or that there is no interrupt to wait for (a VM has it, or
// no interrupt controller is driven): then do not sleep. wake(false) ends it.
void virtio_console_wake(bool on);
bool virtio_console_rearm(void);
// Reset the device: it stops writing into our buffers (before a chainload,
// whose new firmware overwrites them). A later start finds it again.
void virtio_console_stop(void);

#endif
