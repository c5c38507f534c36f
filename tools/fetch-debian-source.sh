#!/usr/bin/env bash
# Fetch one Debian source package's upstream tarball, unmodified, into a
# git-ignored cache, and unpack it.
#
# The package is downloaded with a private apt configuration (a deb-src line
# for trixie in DEST's parent folder), so the system's apt setup is untouched;
# the orig tarball's SHA-256 is checked before it is unpacked.
#
# Usage: fetch-debian-source.sh PACKAGE VERSION ORIG_TARBALL SHA256 DEST
#        prints nothing when DEST is already complete
set -euo pipefail

package=${1:?usage: fetch-debian-source.sh PACKAGE VERSION ORIG SHA256 DEST}
version=${2:?}
orig=${3:?}
sha256=${4:?}
dest=${5:?}

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -f "$dest/.complete" ] && exit 0

mkdir -p "$(dirname "$dest")"
cache=$(cd "$(dirname "$dest")" && pwd)/apt
mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/src" "$cache/sources.list.d"

if [ ! -f "$cache/src/$orig" ]; then
    uri=$(bash "$(dirname "$0")/setup-debian.sh" --archive-uri)
    [ -n "$uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources*; fetch $package's source yourself into $dest"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$cache/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$cache/sources.list" -o "Dir::Etc::SourceParts=$cache/sources.list.d"
              -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "APT::Sandbox::User=root"
              -o "Debug::NoLocking=1")
    say "fetching Debian source package $package $version (trixie) from $uri"
    apt-get "${apt_opts[@]}" update >"$cache/apt.log" 2>&1 \
        || die "apt-get update for the trixie sources failed (see $cache/apt.log)"
    (cd "$cache/src" && apt-get "${apt_opts[@]}" source --download-only "$package=$version") >>"$cache/apt.log" 2>&1 \
        || die "apt-get source $package=$version failed (see $cache/apt.log)"
fi

say "checking SHA-256 of $orig"
got=$(sha256sum "$cache/src/$orig" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
    die "$cache/src/$orig has SHA-256 $got, expected $sha256: delete it and run make again"
fi

say "unpacking into $dest"
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xf "$cache/src/$orig" -C "$dest.tmp" --strip-components=1
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.complete"
