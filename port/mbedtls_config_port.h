// Mbed TLS configuration (MBEDTLS_CONFIG_FILE): only what hashlib (SHA-1,
// MD5, SHA-256) and cryptolib (AES in ECB, CBC and CTR modes) use; no TLS,
// no entropy, no heap. The library is Debian's mbedtls source, unmodified
// (tools/fetch-mbedtls.sh); port/Makefile compiles just these files.
#ifndef PORT_MBEDTLS_CONFIG_PORT_H
#define PORT_MBEDTLS_CONFIG_PORT_H

#define MBEDTLS_SHA1_C
#define MBEDTLS_MD5_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES          // tables in .rodata, not built in RAM at first use
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_MODE_CTR

// port/mbedtls_port.c: a zeroize that needs no C library beyond memset.
#define MBEDTLS_PLATFORM_ZEROIZE_ALT

#endif
