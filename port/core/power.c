// PSCI over SMC (QEMU virt's firmware), and the board's reset method
// (BOARD_RESET_* in mpconfigboard.h).
#include "mpconfigboard.h"
#include "cpu.h"
#include "power.h"

int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3) {
    register uint64_t x0 __asm__ ("x0") = fn;
    register uint64_t x1 __asm__ ("x1") = a1;
    register uint64_t x2 __asm__ ("x2") = a2;
    register uint64_t x3 __asm__ ("x3") = a3;
    __asm__ volatile ("smc #0" : "+r" (x0), "+r" (x1), "+r" (x2), "+r" (x3) :: "memory");
    return (int64_t)x0;
}

void board_reset(void) {
    #if BOARD_RESET_PSCI
    psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
    #elif BOARD_RESET_BCM2711_WATCHDOG
    // BCM2711 power manager: let the watchdog expire after a few ticks.
    volatile uint32_t *pm_rstc = (volatile uint32_t *)(BOARD_DEVICE_BASE + 0x0210001c);
    volatile uint32_t *pm_wdog = (volatile uint32_t *)(BOARD_DEVICE_BASE + 0x02100024);
    const uint32_t password = 0x5a000000;
    *pm_wdog = password | 10;
    *pm_rstc = (*pm_rstc & ~0x30u) | password | 0x20;
    #else
    #error "the board names no reset method (BOARD_RESET_*)"
    #endif
    halt();
}
