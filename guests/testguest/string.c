/* The few string functions the guest uses, and memset/memcpy, which the
   compiler may call even in freestanding code. Byte at a time: with the MMU
   off, memory is Device memory, where nothing may be unaligned. */
#include "testguest.h"

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (unsigned char)*a - (unsigned char)*b;
        }
    }
    return 0;
}

int strcmp(const char *a, const char *b)
{
    return strncmp(a, b, (size_t)-1);
}

void *memset(void *d, int c, size_t n)
{
    volatile unsigned char *p = d;      /* volatile: not turned back into a memset call */
    while (n--) {
        *p++ = (unsigned char)c;
    }
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) {
        *p++ = *q++;
    }
    return d;
}
