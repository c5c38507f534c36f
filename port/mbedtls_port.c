// What Mbed TLS needs from the platform for hashlib and cryptolib: a memory
// wipe the compiler cannot drop (mbedtls' own picks glibc's explicit_bzero,
// which this freestanding firmware does not have).
#include <stddef.h>
#include "mbedtls/platform_util.h"

void mbedtls_platform_zeroize(void *buf, size_t len) {
    volatile unsigned char *p = buf;
    while (len--) {
        *p++ = 0;
    }
}
