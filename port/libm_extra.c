// sincos() for lib/libm_dbl: GCC merges sin(x) and cos(x) into one sincos()
// call when the target C library (glibc, for this cross compiler) has one.
// Built with -fno-builtin so this definition is not merged into itself.
#include <math.h>

void sincos(double x, double *s, double *c) {
    *s = sin(x);
    *c = cos(x);
}
