// time module for this port, included by extmod/modtime.c. There is no RTC:
// time.time() counts seconds since boot.
#include "py/obj.h"
#include "py/mphal.h"

static mp_obj_t mp_time_time_get(void) {
    return mp_obj_new_int_from_uint(mp_hal_time_ns() / 1000000000);
}
