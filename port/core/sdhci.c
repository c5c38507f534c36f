// SD memory card over an SDHCI 3.0 controller, polled PIO (core/sdhci.h).
//
// Written from the SD Host Controller and Physical Layer Simplified
// Specifications. Hardware notes from code known to run on Pi 4 boards:
// - Every register is accessed 32 bits wide: BCM283x controllers drop 8/16-bit
//   writes (Linux's sdhci-iproc shadows them), so Transfer Mode and Command
//   are written together, which also starts the command.
// - BCM2711 EMMC2 hangs if the card clock is far below its core clock: Linux
//   caps its minimum at 200 kHz, so identification runs at 200-400 kHz.
// - Multi-block reads end with the controller's automatic CMD12 (Linux sets
//   SDHCI_QUIRK_MULTIBLOCK_READ_ACMD12 for the BCM2711); writes do too.
// - The Pi's firmware leaves the card powered at 3.3 V (it booted from it);
//   we still set the controller's bus power to 3.3 V, as Circle does.
#include <stddef.h>

#include "sdhci.h"
#include "timer.h"

// Registers (all used 32 bits wide).
#define REG_BLKSIZECNT      0x04    // block size 11:0, block count 31:16
#define REG_ARG             0x08
#define REG_CMDTM           0x0c    // transfer mode 15:0, command 31:16
#define REG_RESP0           0x10
#define REG_DATA            0x20
#define REG_PRESENT         0x24
#define REG_HOSTCTL         0x28    // host control 7:0, power control 15:8
#define REG_CLOCKCTL        0x2c    // clock 15:0, timeout 19:16, software reset 26:24
#define REG_INTSTATUS       0x30    // normal 15:0, error 31:16; write 1 to clear
#define REG_INTENABLE       0x34    // which events reach REG_INTSTATUS
#define REG_INTSIGNAL       0x38    // which raise the interrupt line: none
#define REG_CAPS            0x40
#define REG_VERSION         0xfc    // host specification version in 23:16

// REG_CMDTM: transfer mode.
#define TM_BLOCK_COUNT_EN   (1u << 1)
#define TM_AUTO_CMD12       (1u << 2)
#define TM_READ             (1u << 4)
#define TM_MULTI_BLOCK      (1u << 5)
// REG_CMDTM: command.
#define CMD_RESP_NONE       (0u << 16)
#define CMD_RESP_136        (1u << 16)
#define CMD_RESP_48         (2u << 16)
#define CMD_RESP_48_BUSY    (3u << 16)
#define CMD_RESP_MASK       (3u << 16)
#define CMD_CRC_CHECK       (1u << 19)
#define CMD_INDEX_CHECK     (1u << 20)
#define CMD_DATA            (1u << 21)
#define CMD_INDEX(n)        ((uint32_t)(n) << 24)

// Response kinds of the SD Physical Layer specification.
#define R1      (CMD_RESP_48 | CMD_CRC_CHECK | CMD_INDEX_CHECK)
#define R1B     (CMD_RESP_48_BUSY | CMD_CRC_CHECK | CMD_INDEX_CHECK)
#define R2      (CMD_RESP_136 | CMD_CRC_CHECK)
#define R3      (CMD_RESP_48)                   // OCR: no CRC, no index
#define R6      R1
#define R7      R1

// REG_PRESENT
#define PS_CMD_INHIBIT      (1u << 0)
#define PS_DAT_INHIBIT      (1u << 1)
#define PS_CARD_INSERTED    (1u << 16)
// REG_HOSTCTL
#define HC_DATA_4BIT        (1u << 1)
#define PC_BUS_POWER        (1u << 8)
#define PC_3V3              (7u << 9)
// REG_CLOCKCTL
#define CC_INTERNAL_EN      (1u << 0)
#define CC_STABLE           (1u << 1)
#define CC_SD_CLOCK_EN      (1u << 2)
#define CC_DIVIDER_MASK     0xffc0u
#define CC_TIMEOUT_MAX      (0xeu << 16)    // data timeout: TMCLK x 2^27
#define CC_RESET_ALL        (1u << 24)
#define CC_RESET_CMD        (1u << 25)
#define CC_RESET_DAT        (1u << 26)
// REG_INTSTATUS
#define INT_CMD_DONE        (1u << 0)
#define INT_TRANSFER_DONE   (1u << 1)
#define INT_WRITE_READY     (1u << 4)
#define INT_READ_READY      (1u << 5)
#define INT_ERROR           (1u << 15)
#define INT_CMD_TIMEOUT     (1u << 16)
#define INT_DATA_TIMEOUT    (1u << 20)
#define INT_ERRORS          0xffff0000u
#define INT_TIMEOUTS        (INT_CMD_TIMEOUT | INT_DATA_TIMEOUT)
#define INT_ALL_BUT_CARD    0xfffffeffu     // card interrupts (SDIO) stay off

// OCR bits (ACMD41).
#define OCR_BUSY_DONE       (1u << 31)
#define OCR_HCS             (1u << 30)
#define OCR_3V2_3V4         0x00300000u     // the window our 3.3 V supply is in
// Card status (R1) bits that mean the command failed.
#define R1_ERRORS           0xfff98008u

#define ID_CLOCK_HZ         400000      // identification: at most 400 kHz
#define MIN_CLOCK_HZ        200000      // BCM2711: not slower (see the top)
#define DATA_CLOCK_HZ       25000000    // default speed

// Bounds on every wait, in milliseconds: far above what a working card needs
// (command: 64 clocks; write busy: 250 ms for SDXC; power-up: 1 s).
#define WAIT_RESET_MS       100
#define WAIT_CMD_MS         100
#define WAIT_DATA_MS        1000
#define WAIT_POWER_UP_MS    1500

static inline uint32_t reg_read(const sdhci_card_t *c, uint32_t off) {
    return *(volatile uint32_t *)(c->base + off);
}

static inline void reg_write(const sdhci_card_t *c, uint32_t off, uint32_t value) {
    *(volatile uint32_t *)(c->base + off) = value;
}

static uint64_t deadline_after_ms(uint32_t ms) {
    return timer_counter() + timer_ms_to_ticks(ms);
}

static bool passed(uint64_t deadline) {
    return timer_counter() >= deadline;
}

static void delay_ms(uint32_t ms) {
    uint64_t end = deadline_after_ms(ms);
    while (!passed(end)) {
    }
}

// Wait until (reg & mask) == want; false on timeout.
static bool wait_reg(const sdhci_card_t *c, uint32_t off, uint32_t mask, uint32_t want, uint32_t ms) {
    uint64_t end = deadline_after_ms(ms);
    for (;;) {
        if ((reg_read(c, off) & mask) == want) {
            return true;
        }
        if (passed(end)) {
            return (reg_read(c, off) & mask) == want;
        }
    }
}

// Wait for any of `events` or an error in REG_INTSTATUS: the status, or 0 on timeout.
static uint32_t wait_event(const sdhci_card_t *c, uint32_t events, uint32_t ms) {
    uint64_t end = deadline_after_ms(ms);
    for (;;) {
        uint32_t status = reg_read(c, REG_INTSTATUS);
        if (status & (events | INT_ERROR | INT_ERRORS)) {
            return status;
        }
        if (passed(end)) {
            return 0;
        }
    }
}

static void reset_lines(sdhci_card_t *c, uint32_t which) {
    reg_write(c, REG_CLOCKCTL, reg_read(c, REG_CLOCKCTL) | which);
    wait_reg(c, REG_CLOCKCTL, which, 0, WAIT_RESET_MS);
    reg_write(c, REG_INTSTATUS, 0xffffffff);
}

// A failure: what the status says, kept for the report; the lines reset.
static int fail(sdhci_card_t *c, uint8_t index, uint32_t status) {
    c->last_command = index;
    c->last_status = status;
    reset_lines(c, CC_RESET_CMD | CC_RESET_DAT);
    if (status == 0 || (status & INT_TIMEOUTS)) {
        return SDHCI_ETIMEDOUT;
    }
    return SDHCI_EIO;
}

// Issue a command; for R1b, wait out the busy signal too. The 48-bit
// response (or bits 31:0 of a 136-bit one) goes to *resp.
static int command(sdhci_card_t *c, uint8_t index, uint32_t arg, uint32_t flags, uint32_t mode, uint32_t *resp) {
    uint32_t inhibit = PS_CMD_INHIBIT;
    if ((flags & CMD_DATA) || (flags & CMD_RESP_MASK) == CMD_RESP_48_BUSY) {
        inhibit |= PS_DAT_INHIBIT;
    }
    if (!wait_reg(c, REG_PRESENT, inhibit, 0, WAIT_CMD_MS)) {
        return fail(c, index, 0);
    }
    reg_write(c, REG_INTSTATUS, 0xffffffff);
    reg_write(c, REG_ARG, arg);
    reg_write(c, REG_CMDTM, CMD_INDEX(index) | flags | mode);
    uint32_t status = wait_event(c, INT_CMD_DONE, WAIT_CMD_MS);
    if (!(status & INT_CMD_DONE) || (status & INT_ERRORS)) {
        return fail(c, index, status);
    }
    reg_write(c, REG_INTSTATUS, INT_CMD_DONE);
    if (resp != NULL) {
        *resp = reg_read(c, REG_RESP0);
    }
    if ((flags & CMD_RESP_MASK) == CMD_RESP_48_BUSY) {
        status = wait_event(c, INT_TRANSFER_DONE, WAIT_DATA_MS);
        if (!(status & INT_TRANSFER_DONE) || (status & INT_ERRORS & ~INT_DATA_TIMEOUT)) {
            return fail(c, index, status);
        }
        reg_write(c, REG_INTSTATUS, INT_TRANSFER_DONE);
    }
    return 0;
}

// A command whose R1 card status must show no error.
static int command_r1(sdhci_card_t *c, uint8_t index, uint32_t arg, uint32_t flags) {
    uint32_t status;
    int err = command(c, index, arg, flags, 0, &status);
    if (err == 0 && (status & R1_ERRORS)) {
        c->last_command = index;
        c->last_status = status;
        return SDHCI_EIO;
    }
    return err;
}

static int app_command(sdhci_card_t *c, uint8_t index, uint32_t arg, uint32_t flags, uint32_t *resp) {
    int err = command(c, 55, c->rca, R1, 0, NULL);
    return err ? err : command(c, index, arg, flags, 0, resp);
}

// The card clock: base / (2 N), N the smallest that keeps it at or below `hz`.
static int set_clock(sdhci_card_t *c, uint32_t hz) {
    uint32_t n = (c->base_clock_hz + 2 * hz - 1) / (2 * hz);
    uint32_t version = (reg_read(c, REG_VERSION) >> 16) & 0xff;
    if (version < 2) {                  // SDHCI 1.0/2.0: a power of two, at most 128
        uint32_t p = 1;
        while (p < n && p < 0x80) {
            p <<= 1;
        }
        n = p;
    } else if (n > 0x3ff) {
        n = 0x3ff;
    }
    uint32_t clk = reg_read(c, REG_CLOCKCTL) & ~(CC_SD_CLOCK_EN | CC_DIVIDER_MASK);
    reg_write(c, REG_CLOCKCTL, clk);
    clk |= CC_INTERNAL_EN | ((n & 0xff) << 8) | ((n >> 8) << 6);
    reg_write(c, REG_CLOCKCTL, clk);
    if (!wait_reg(c, REG_CLOCKCTL, CC_STABLE, CC_STABLE, WAIT_RESET_MS)) {
        return SDHCI_ETIMEDOUT;
    }
    reg_write(c, REG_CLOCKCTL, clk | CC_SD_CLOCK_EN);
    c->bus_clock_hz = n ? c->base_clock_hz / (2 * n) : c->base_clock_hz;
    delay_ms(2);                        // 74 clocks before the first command
    return 0;
}

// The capacity from the CSD. The controller keeps bits 127:8 of the 136-bit
// response (no CRC) in RESP0..3, so CSD bit n is at bit n - 8 here.
static uint32_t csd_bits(const uint32_t r[4], int hi, int lo) {
    uint32_t v = 0;
    for (int bit = hi; bit >= lo; bit--) {
        int at = bit - 8;
        v = (v << 1) | ((r[at / 32] >> (at % 32)) & 1);
    }
    return v;
}

static uint64_t csd_blocks(const uint32_t r[4]) {
    if (csd_bits(r, 127, 126) == 1) {   // CSD 2.0 (SDHC/SDXC): (C_SIZE + 1) x 512 KiB
        return ((uint64_t)csd_bits(r, 69, 48) + 1) * 1024;
    }
    uint32_t c_size = csd_bits(r, 73, 62), mult = csd_bits(r, 49, 47), read_bl_len = csd_bits(r, 83, 80);
    return (((uint64_t)c_size + 1) << (mult + 2 + read_bl_len)) / SDHCI_BLOCK_SIZE;
}

bool sdhci_card_detected(uintptr_t base) {
    return (*(volatile uint32_t *)(base + REG_PRESENT) & PS_CARD_INSERTED) != 0;
}

int sdhci_card_init(sdhci_card_t *c, uintptr_t base, uint32_t base_clock_hz) {
    *c = (sdhci_card_t) { .base = base, .base_clock_hz = base_clock_hz };
    reg_write(c, REG_CLOCKCTL, CC_RESET_ALL);
    if (!wait_reg(c, REG_CLOCKCTL, CC_RESET_ALL, 0, WAIT_RESET_MS)) {
        return SDHCI_ETIMEDOUT;
    }
    // Else the base clock in MHz, bits 15:8 of the capabilities (SDHCI 3.0).
    // Linux does not trust it on the BCM2711 (SDHCI_QUIRK_CAP_CLOCK_BASE_BROKEN:
    // it asks the firmware, as the caller does); EMMC2 reports 100 MHz.
    if (c->base_clock_hz == 0) {
        c->base_clock_hz = ((reg_read(c, REG_CAPS) >> 8) & 0xff) * 1000000;
    }
    if (c->base_clock_hz == 0) {
        c->base_clock_hz = 100000000;
    }
    reg_write(c, REG_HOSTCTL, PC_3V3 | PC_BUS_POWER);      // 3.3 V, 1-bit bus
    delay_ms(2);
    reg_write(c, REG_INTENABLE, INT_ALL_BUT_CARD);         // polled: events to the status register only
    reg_write(c, REG_INTSIGNAL, 0);
    reg_write(c, REG_INTSTATUS, 0xffffffff);
    uint32_t id_hz = ID_CLOCK_HZ;
    if (c->base_clock_hz / (2 * 0x3ff) > MIN_CLOCK_HZ) {
        id_hz = c->base_clock_hz / (2 * 0x3ff);            // a slower divider does not exist
    }
    int err = set_clock(c, id_hz);
    if (err) {
        return err;
    }
    reg_write(c, REG_CLOCKCTL, reg_read(c, REG_CLOCKCTL) | CC_TIMEOUT_MAX);

    // Power-on to idle; then does it speak version 2.00 or later (CMD8)?
    if ((err = command(c, 0, 0, CMD_RESP_NONE, 0, NULL)) != 0) {
        return err;
    }
    uint32_t r7;
    bool v2 = command(c, 8, 0x1aa, R7, 0, &r7) == 0;       // 2.7-3.6 V, check pattern 0xaa
    if (v2 && (r7 & 0xfff) != 0x1aa) {
        return SDHCI_EUNSUPPORTED;
    }
    // Initialise (ACMD41) until the card says it is done, asking for high
    // capacity where CMD8 answered. No answer at all: no card.
    uint64_t end = deadline_after_ms(WAIT_POWER_UP_MS);
    uint32_t ocr = 0;
    for (bool first = true;; first = false) {
        err = app_command(c, 41, OCR_3V2_3V4 | (v2 ? OCR_HCS : 0), R3, &ocr);
        if (err) {
            return first && err == SDHCI_ETIMEDOUT ? SDHCI_ENOCARD : err;
        }
        if (ocr & OCR_BUSY_DONE) {
            break;
        }
        if (!(ocr & OCR_3V2_3V4)) {
            return SDHCI_EUNSUPPORTED;
        }
        if (passed(end)) {
            return SDHCI_ETIMEDOUT;
        }
        delay_ms(10);
    }
    c->high_capacity = (ocr & OCR_HCS) != 0;

    // Identify (CMD2), get an address (CMD3), read the CSD (CMD9), select (CMD7).
    uint32_t r[4];
    if ((err = command(c, 2, 0, R2, 0, NULL)) != 0) {
        return err;
    }
    uint32_t r6;
    if ((err = command(c, 3, 0, R6, 0, &r6)) != 0) {
        return err;
    }
    c->rca = r6 & 0xffff0000u;
    if ((err = command(c, 9, c->rca, R2, 0, NULL)) != 0) {
        return err;
    }
    for (int i = 0; i < 4; i++) {
        r[i] = reg_read(c, REG_RESP0 + 4 * i);
    }
    c->blocks = csd_blocks(r);
    if ((err = command_r1(c, 7, c->rca, R1B)) != 0) {
        return err;
    }
    if (!c->high_capacity && (err = command_r1(c, 16, SDHCI_BLOCK_SIZE, R1)) != 0) {
        return err;
    }
    // 4-bit bus (ACMD6), every SD memory card has it; then the data clock.
    if ((err = app_command(c, 6, 2, R1, NULL)) != 0) {
        return err;
    }
    reg_write(c, REG_HOSTCTL, reg_read(c, REG_HOSTCTL) | HC_DATA_4BIT);
    if ((err = set_clock(c, DATA_CLOCK_HZ)) != 0) {
        return err;
    }
    c->ready = true;
    return 0;
}

// One command moving `count` blocks through the buffer port.
static int transfer(sdhci_card_t *c, bool write, uint32_t block, uint32_t count, uint32_t *words) {
    bool multi = count > 1;
    uint8_t index = write ? (multi ? 25 : 24) : (multi ? 18 : 17);
    uint32_t mode = (write ? 0 : TM_READ) | (multi ? TM_MULTI_BLOCK | TM_BLOCK_COUNT_EN | TM_AUTO_CMD12 : 0);
    reg_write(c, REG_BLKSIZECNT, SDHCI_BLOCK_SIZE | (count << 16));
    uint32_t arg = c->high_capacity ? block : block * SDHCI_BLOCK_SIZE;
    uint32_t status;
    int err = command(c, index, arg, R1 | CMD_DATA, mode, &status);
    if (err == 0 && (status & R1_ERRORS)) {
        c->last_command = index;
        c->last_status = status;
        reset_lines(c, CC_RESET_CMD | CC_RESET_DAT);
        err = SDHCI_EIO;
    }
    uint32_t ready = write ? INT_WRITE_READY : INT_READ_READY;
    for (uint32_t n = 0; err == 0 && n < count; n++) {
        status = wait_event(c, ready, WAIT_DATA_MS);
        if (!(status & ready) || (status & INT_ERRORS)) {
            err = fail(c, index, status);
            break;
        }
        reg_write(c, REG_INTSTATUS, ready);
        if (write) {
            for (int i = 0; i < SDHCI_BLOCK_SIZE / 4; i++) {
                reg_write(c, REG_DATA, *words++);
            }
        } else {
            for (int i = 0; i < SDHCI_BLOCK_SIZE / 4; i++) {
                *words++ = reg_read(c, REG_DATA);
            }
        }
    }
    if (err == 0) {
        status = wait_event(c, INT_TRANSFER_DONE, WAIT_DATA_MS);
        if (!(status & INT_TRANSFER_DONE) || (status & INT_ERRORS)) {
            err = fail(c, index, status);
        } else {
            reg_write(c, REG_INTSTATUS, INT_TRANSFER_DONE);
        }
    }
    if (err && multi) {
        // Stop the card, if the automatic CMD12 did not; the report stays the first failure's.
        uint8_t failed_command = c->last_command;
        uint32_t failed_status = c->last_status;
        command(c, 12, 0, R1B, 0, NULL);
        c->last_command = failed_command;
        c->last_status = failed_status;
    }
    return err;
}

static int transfer_all(sdhci_card_t *c, bool write, uint32_t block, uint32_t count, uint32_t *words) {
    if (!c->ready) {
        return SDHCI_ENOCARD;
    }
    while (count > 0) {
        uint32_t n = count > 0xffff ? 0xffff : count;   // the block count register's width
        int err = transfer(c, write, block, n, words);
        if (err) {
            return err;
        }
        block += n;
        count -= n;
        words += n * (SDHCI_BLOCK_SIZE / 4);
    }
    return 0;
}

int sdhci_read_blocks(sdhci_card_t *c, uint32_t block, uint32_t count, void *buf) {
    return transfer_all(c, false, block, count, buf);
}

int sdhci_write_blocks(sdhci_card_t *c, uint32_t block, uint32_t count, const void *buf) {
    return transfer_all(c, true, block, count, (uint32_t *)buf);
}

const char *sdhci_error_text(int err) {
    switch (err) {
        case SDHCI_ENOCARD:
            return "no card answered";
        case SDHCI_ETIMEDOUT:
            return "timed out";
        case SDHCI_EIO:
            return "CRC or card error";
        case SDHCI_EUNSUPPORTED:
            return "not an SD memory card this driver supports";
        default:
            return "error";
    }
}
