#!/usr/bin/env bash
# Fetch musl's source, unmodified, into a git-ignored cache: its exp() (ARM's
# table-driven one, < 0.52 ulp) replaces lib/libm_dbl's older fdlibm exp(),
# which is 1 ulp off at exp(1.0), so math.exp(1.0) == math.e as on other ports.
#
# Source: Debian's source package musl 1.2.5-3.1~deb13u1 (suite trixie),
# fetched and checked by fetch-debian-source.sh.
#
# Usage: fetch-musl.sh DEST     prints nothing when DEST is already complete
set -euo pipefail

dest=${1:?usage: fetch-musl.sh DEST}
[ -f "$dest/.complete" ] && exit 0

bash "$(dirname "$0")/fetch-debian-source.sh" musl 1.2.5-3.1~deb13u1 musl_1.2.5.orig.tar.gz \
    a9a118bbe84d8764da0ea0d28b3ab3fae8477fc7e4085d90102b8596fc7c75e4 "$dest"
[ -f "$dest/src/math/exp.c" ] || { echo "error: $dest does not hold musl (no src/math/exp.c)" >&2; exit 1; }
