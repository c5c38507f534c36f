// An SD memory card behind an SD Host Controller (SDHCI 3.0 register set),
// polled, data moved by the CPU through the buffer port (PIO): the
// Raspberry Pi 4's EMMC2, whose slot holds the boot card, and its older
// EMMC (Arasan), where QEMU 10's raspi4b attaches `-drive if=sd`.
//
// Every wait is bounded: a card that stops answering gives SDHCI_ETIMEDOUT,
// never a hang. No interrupts, no DMA.
#ifndef CORE_SDHCI_H
#define CORE_SDHCI_H

#include <stdbool.h>
#include <stdint.h>

#define SDHCI_BLOCK_SIZE    512

// Results: 0 or one of these (negative).
#define SDHCI_ENOCARD       (-1)    // nothing answered the first commands
#define SDHCI_ETIMEDOUT     (-2)    // the card or the controller stopped answering
#define SDHCI_EIO           (-3)    // CRC, end-bit or index error on the lines, or a card error status
#define SDHCI_EUNSUPPORTED  (-4)    // not an SD memory card we can drive (voltage, version)

typedef struct {
    uintptr_t base;             // the controller's registers
    uint32_t base_clock_hz;     // the controller's input clock
    uint32_t bus_clock_hz;      // the card clock in use after set-up
    uint32_t rca;               // relative card address (CMD3), in bits 31:16
    uint64_t blocks;            // capacity in 512-byte blocks (CSD)
    bool high_capacity;         // SDHC/SDXC: block addresses; SDSC: byte addresses
    bool ready;
    uint32_t last_status;       // the interrupt status of the last failure, for reports
    uint8_t last_command;       // the command that failed
} sdhci_card_t;

// Reset the controller at `base`, bring its card from power-on to the
// transfer state (4-bit bus, default speed) and read its capacity.
// `base_clock_hz`: the controller's input clock, or 0 to take what its
// capabilities register says.
int sdhci_card_init(sdhci_card_t *card, uintptr_t base, uint32_t base_clock_hz);

// Whole 512-byte blocks; `buf` 4-byte aligned. Multi-block transfers use
// CMD18/CMD25 with the controller's automatic CMD12.
int sdhci_read_blocks(sdhci_card_t *card, uint32_t block, uint32_t count, void *buf);
int sdhci_write_blocks(sdhci_card_t *card, uint32_t block, uint32_t count, const void *buf);

// The controller's card-detect line (Present State); not wired on every board.
bool sdhci_card_detected(uintptr_t base);

const char *sdhci_error_text(int err);

#endif
