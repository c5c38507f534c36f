#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, idempotently.
# QEMU comes from bookworm-backports (bookworm's own 7.2 has no raspi4b); that
# suite is enabled with the archive URI the machine's apt sources already use.
set -euo pipefail

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

pkgs=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross gdb-multiarch mtools dosfstools
      python3-venv xz-utils dpkg-dev device-tree-compiler)
qemu_min_major=9

have_pkgs() {
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || return 1
    done
}

qemu_ok() {
    command -v qemu-system-aarch64 >/dev/null || return 1
    local v
    v=$(qemu-system-aarch64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1)
    [ -n "$v" ] && [ "$v" -ge "$qemu_min_major" ]
}

# The Debian archive URI this machine already uses for its main suite.
archive_uri() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            /^[[:space:]]*$/ { if (uri != "" && suites ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) { print uri; exit } uri=""; suites=""; next }
            /^URIs:/ { uri=$2 }
            /^Suites:/ { $1=""; suites=$0 }
            END { if (uri != "" && suites ~ /(^|[[:space:]])bookworm([[:space:]]|$)/) print uri }
        ' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i+1) == "bookworm") print $i; break } }'
}

if [ "${1:-}" = --archive-uri ]; then
    archive_uri 2>/dev/null | sed -n 1p || true
    exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# apt-get install, quietly: its output goes to the log, shown only on failure.
apt_install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1
}
apt_update() {
    say "apt-get update"
    $SUDO apt-get update >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed"; }
}

# make bench: the bare-metal Arm toolchain, only to build upstream MicroPython's
# ports/qemu beside ours for comparison.
if [ "${1:-}" = --bench ]; then
    bench_pkgs=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
    have_pkgs "${bench_pkgs[@]}" && exit 0
    command -v apt-get >/dev/null || die "apt-get not found: install ${bench_pkgs[*]} by hand"
    say "installing ${bench_pkgs[*]} (to build upstream ports/qemu for comparison)"
    apt_install "${bench_pkgs[@]}" || { apt_update && apt_install "${bench_pkgs[@]}"; } \
        || { tail -n 20 "$log" >&2; die "apt-get install ${bench_pkgs[*]} failed"; }
    exit 0
fi

if have_pkgs "${pkgs[@]}" && qemu_ok; then
    exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: install ${pkgs[*]} and qemu-system-arm >= $qemu_min_major by hand"

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ "$codename" = bookworm ] || say "note: this is '$codename', not bookworm; trying anyway"

backports_list=/etc/apt/sources.list.d/bookworm-backports.list
if ! qemu_ok && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(archive_uri 2>/dev/null | sed -n 1p || true)
    [ -n "$uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources*; add bookworm-backports yourself"
    say "enabling bookworm-backports from $uri"
    echo "deb $uri bookworm-backports main" | $SUDO tee "$backports_list" >/dev/null
fi

apt_update
say "installing ${pkgs[*]}"
apt_install "${pkgs[@]}" || { tail -n 20 "$log" >&2; die "apt-get install failed"; }
if ! qemu_ok; then
    say "installing qemu-system-arm from bookworm-backports"
    apt_install -t bookworm-backports qemu-system-arm \
        || { tail -n 20 "$log" >&2; die "installing qemu-system-arm failed"; }
fi
qemu_ok || die "qemu-system-aarch64 >= $qemu_min_major is not available"
say "$(qemu-system-aarch64 --version | head -n1)"
