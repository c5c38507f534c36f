// BCM2711 GPIO (Raspberry Pi 4): pin functions and pulls, for the pins the
// board routes to its console (BOARD_UART_*_PIN in mpconfigboard.h).
#ifndef CORE_GPIO_BCM2711_H
#define CORE_GPIO_BCM2711_H

#define GPIO_FUNC_ALT0      4       // GPFSELn function code of ALT0

#define GPIO_PULL_NONE      0       // GPIO_PUP_PDN_CNTRL_REGn codes
#define GPIO_PULL_UP        1
#define GPIO_PULL_DOWN      2

void gpio_set_function(unsigned int pin, unsigned int function);
void gpio_set_pull(unsigned int pin, unsigned int pull);

#endif
