// The banner names the core the firmware runs on and says when the machine
// has more CPUs than the firmware uses. MicroPython prints its banner's
// machine part as a compile-time text, MICROPY_BANNER_MACHINE, which can only
// name a core the build assumed; the console output (mphalport.c) prints
// this instead of exactly that text. os.uname().machine and
// sys.implementation._machine keep the compile-time one, which says
// "AArch64" (true of any core).
#include <string.h>

#include "py/mphal.h"
#include "py/mpprint.h"
#include "genhdr/sysregs.h"
#include "core/boot_info.h"
#include "core/cpu.h"
#include "banner.h"

static const char machine_text[] = "; " MICROPY_BANNER_MACHINE;

bool banner_is_machine_text(const char *str, size_t len) {
    return len == sizeof(machine_text) - 1 && memcmp(str, machine_text, len) == 0;
}

void banner_print_machine(void) {
    uint64_t midr = SYSREG_READ(midr_el1);
    unsigned int implementer = FIELD_GET(MIDR_EL1_IMPLEMENTER, midr), part = FIELD_GET(MIDR_EL1_PARTNUM, midr);
    mp_printf(&mp_plat_print, "; %s with ", MICROPY_HW_BOARD_NAME);
    const char *name = NULL;
    for (size_t i = 0; i < MP_ARRAY_SIZE(cpu_part_table); ++i) {
        if (cpu_part_table[i].implementer == implementer && cpu_part_table[i].part == part) {
            name = cpu_part_table[i].name;
        }
    }
    if (name) {
        mp_printf(&mp_plat_print, "%s", name);
    } else {
        mp_printf(&mp_plat_print, "core 0x%02x:0x%03x", implementer, part);
    }
    mp_printf(&mp_plat_print, " at EL2");
    unsigned int listed = boot_info_cpus();
    if (listed > MAX_CPUS) {
        mp_printf(&mp_plat_print, " (the machine has %u CPUs; this firmware uses %u)", listed, cpu_online_count());
    }
}
