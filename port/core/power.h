// PSCI calls and board reset.
#ifndef CORE_POWER_H
#define CORE_POWER_H

#include <stdint.h>

#define PSCI_VERSION        0x84000000u
#define PSCI_CPU_OFF        0x84000002u
#define PSCI_CPU_ON         0xc4000003u
#define PSCI_AFFINITY_INFO  0xc4000004u
#define PSCI_AFFINITY_OFF   1           // AFFINITY_INFO: the CPU is off
#define PSCI_SYSTEM_OFF     0x84000008u
#define PSCI_SYSTEM_RESET   0x84000009u

int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
void board_reset(void) __attribute__((noreturn));

#endif
