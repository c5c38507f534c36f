#!/usr/bin/env bash
# Fetch MicroPython 1.25.0's source, unmodified, into a git-ignored cache.
#
# Source: Debian's source package micropython 1.25.0+ds-1 (suite trixie),
# downloaded with a private apt configuration so the system's apt setup is
# untouched; the orig tarball's SHA-256 is checked before it is unpacked.
#
# Usage: fetch-micropython.sh DEST     prints nothing when DEST is already complete
set -euo pipefail

dest=${1:?usage: fetch-micropython.sh DEST}
version=1.25.0+ds-1
orig=micropython_1.25.0+ds.orig.tar.xz
sha256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -f "$dest/.complete" ] && exit 0

mkdir -p "$(dirname "$dest")"
cache=$(cd "$(dirname "$dest")" && pwd)/apt
mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/src" "$cache/sources.list.d"

if [ ! -f "$cache/src/$orig" ]; then
    uri=$(bash "$(dirname "$0")/setup-debian.sh" --archive-uri)
    [ -n "$uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources*; fetch the source yourself and set MICROPY_TOP=/path/to/micropython-1.25.0"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$cache/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$cache/sources.list" -o "Dir::Etc::SourceParts=$cache/sources.list.d"
              -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "APT::Sandbox::User=root"
              -o "Debug::NoLocking=1")
    say "fetching Debian source package micropython $version (trixie) from $uri"
    apt-get "${apt_opts[@]}" update >"$cache/apt.log" 2>&1 \
        || die "apt-get update for the trixie sources failed (see $cache/apt.log); or set MICROPY_TOP=/path/to/micropython-1.25.0"
    (cd "$cache/src" && apt-get "${apt_opts[@]}" source --download-only "micropython=$version") >>"$cache/apt.log" 2>&1 \
        || die "apt-get source micropython=$version failed (see $cache/apt.log); or set MICROPY_TOP=/path/to/micropython-1.25.0"
fi

say "checking SHA-256 of $orig"
got=$(sha256sum "$cache/src/$orig" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
    die "$cache/src/$orig has SHA-256 $got, expected $sha256: delete it and run make again, or set MICROPY_TOP=/path/to/micropython-1.25.0"
fi

say "unpacking into $dest"
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xJf "$cache/src/$orig" -C "$dest.tmp" --strip-components=1
[ -f "$dest.tmp/py/mkrules.mk" ] || die "$orig does not hold a MicroPython tree (no py/mkrules.mk)"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.complete"
