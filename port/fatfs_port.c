// FAT timestamps (oofatfs asks the port): there is no RTC, so files are
// stamped 2000-01-01 00:00:00 plus the time since boot, as time.time() counts.
#include "py/mphal.h"
#include "lib/oofatfs/ff.h"
#include "shared/timeutils/timeutils.h"

DWORD get_fattime(void) {
    timeutils_struct_time_t tm;
    timeutils_seconds_since_2000_to_struct_time(mp_hal_time_ns() / 1000000000, &tm);
    return ((DWORD)(tm.tm_year - 1980) << 25) | ((DWORD)tm.tm_mon << 21) | ((DWORD)tm.tm_mday << 16)
           | ((DWORD)tm.tm_hour << 11) | ((DWORD)tm.tm_min << 5) | ((DWORD)tm.tm_sec / 2);
}
