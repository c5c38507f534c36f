// The VideoCore's mailbox property interface (BCM2711, Raspberry Pi 4):
// questions to the GPU firmware that only it can answer.
#ifndef CORE_MBOX_BCM2711_H
#define CORE_MBOX_BCM2711_H

#include <stdint.h>

#define MBOX_CLOCK_EMMC     1       // clock ids of the property interface
#define MBOX_CLOCK_EMMC2    12

// The rate of the firmware's clock `id` in Hz; 0 if the firmware did not
// answer within 100 ms or does not know the clock.
uint32_t mbox_clock_rate(uint32_t id);

#endif
