#!/usr/bin/env bash
# Fetch Mbed TLS's source, unmodified, into a git-ignored cache: its SHA-1,
# MD5, SHA-256 and AES give hashlib and cryptolib (MicroPython's Debian source
# leaves its bundled lib/mbedtls out, as Debian builds against its own mbedtls).
#
# Source: Debian's source package mbedtls 3.6.6-0.1~deb13u1 (suite trixie),
# fetched and checked by fetch-debian-source.sh.
#
# Usage: fetch-mbedtls.sh DEST     prints nothing when DEST is already complete
set -euo pipefail

dest=${1:?usage: fetch-mbedtls.sh DEST}
[ -f "$dest/.complete" ] && exit 0

bash "$(dirname "$0")/fetch-debian-source.sh" mbedtls 3.6.6-0.1~deb13u1 mbedtls_3.6.6.orig.tar.bz2 \
    8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a "$dest"
[ -f "$dest/library/sha1.c" ] || { echo "error: $dest does not hold Mbed TLS (no library/sha1.c)" >&2; exit 1; }
