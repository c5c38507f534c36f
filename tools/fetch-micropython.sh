#!/usr/bin/env bash
# Fetch MicroPython 1.25.0's source, unmodified, into a git-ignored cache.
#
# Source: Debian's source package micropython 1.25.0+ds-1 (suite trixie),
# fetched and checked by fetch-debian-source.sh (private apt configuration,
# SHA-256 of the orig tarball checked before it is unpacked).
#
# Usage: fetch-micropython.sh DEST     prints nothing when DEST is already complete
set -euo pipefail

dest=${1:?usage: fetch-micropython.sh DEST}
[ -f "$dest/.complete" ] && exit 0

bash "$(dirname "$0")/fetch-debian-source.sh" micropython 1.25.0+ds-1 micropython_1.25.0+ds.orig.tar.xz \
    7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea "$dest" \
    || { echo "error: or set MICROPY_TOP=/path/to/micropython-1.25.0" >&2; exit 1; }
[ -f "$dest/py/mkrules.mk" ] || { echo "error: $dest does not hold a MicroPython tree (no py/mkrules.mk)" >&2; exit 1; }
