// BCM2711 GPIO: GPFSELn (3 bits per pin, 10 pins a register) and the pull
// controls of the 2711, GPIO_PUP_PDN_CNTRL_REGn (2 bits per pin, 16 pins a
// register; the BCM2835's GPPUD clock sequence is gone).
#include <stdint.h>

#include "mpconfigboard.h"
#include "gpio_bcm2711.h"

#ifdef BOARD_GPIO_BASE

#define GPIO_REG(off)       (*(volatile uint32_t *)(BOARD_GPIO_BASE + (off)))
#define GPFSEL(pin)         GPIO_REG(0x00 + 4 * ((pin) / 10))
#define GPIO_PUP_PDN(pin)   GPIO_REG(0xe4 + 4 * ((pin) / 16))

void gpio_set_function(unsigned int pin, unsigned int function) {
    unsigned int shift = 3 * (pin % 10);
    uint32_t v = GPFSEL(pin);
    v &= ~(7u << shift);
    v |= (function & 7u) << shift;
    GPFSEL(pin) = v;
}

void gpio_set_pull(unsigned int pin, unsigned int pull) {
    unsigned int shift = 2 * (pin % 16);
    uint32_t v = GPIO_PUP_PDN(pin);
    v &= ~(3u << shift);
    v |= (pull & 3u) << shift;
    GPIO_PUP_PDN(pin) = v;
}

#endif
