// The banner's machine part, with the core the firmware actually runs on.
#ifndef PORT_BANNER_H
#define PORT_BANNER_H

#include <stdbool.h>
#include <stddef.h>

// Is `str` the compile-time machine part MicroPython's REPL prints in its banner?
bool banner_is_machine_text(const char *str, size_t len);
// Print the machine part as it is: board, core (from MIDR_EL1), and the
// CPUs the firmware leaves unused, if any.
void banner_print_machine(void);

#endif
