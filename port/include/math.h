// The cross compiler's C headers come from glibc, whose math.h declares
// __sin, __cos and __tan with other signatures than MicroPython's lib/libm_dbl
// gives its internal helpers of the same names. Rename glibc's declarations
// out of the way; everything else in math.h is used as it is.
#define __sin __glibc_decl___sin
#define __cos __glibc_decl___cos
#define __tan __glibc_decl___tan
#include_next <math.h>
#undef __sin
#undef __cos
#undef __tan
