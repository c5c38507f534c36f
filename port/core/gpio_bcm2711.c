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

// One pin's field of a register holding the same field for several pins.
static void field_set(volatile uint32_t *reg, unsigned int shift, uint32_t mask, uint32_t value) {
    *reg = (*reg & ~(mask << shift)) | ((value & mask) << shift);
}

void gpio_set_function(unsigned int pin, unsigned int function) {
    field_set(&GPFSEL(pin), 3 * (pin % 10), 7, function);
}

void gpio_set_pull(unsigned int pin, unsigned int pull) {
    field_set(&GPIO_PUP_PDN(pin), 2 * (pin % 16), 3, pull);
}

#endif
