#!/usr/bin/env bash
# A sigstore-capable skopeo for interop tests on Debian bookworm.
#
# Bookworm's skopeo was built without sigstore. Debian trixie's skopeo (1.18) has it, and
# runs here when its .deb and trixie's libc, gpgme, assuan, gpg-error and sqlite .debs are
# unpacked into a private folder and started through trixie's own dynamic loader. This
# script does that with a private apt configuration (its own sources list, lists and cache
# under the install folder), so the system's apt sources and state are never touched.
#
# Usage: scripts/trixie-skopeo.sh            prints the wrapper's path (…/bin/skopeo)
# Env:   BERTH_TRIXIE_SKOPEO_DIR   install folder (default /var/cache/berth-tests/trixie-skopeo)
#        BERTH_TRIXIE_MIRROR       Debian mirror (default: the one the system's sources use)
# Idempotent: a complete install (the wrapper answers --version) is reused as it is.
set -euo pipefail

dir="${BERTH_TRIXIE_SKOPEO_DIR:-/var/cache/berth-tests/trixie-skopeo}"
wrapper="$dir/bin/skopeo"
log() { echo "trixie-skopeo: $*" >&2; }

if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi

# One installer at a time (test processes may start this concurrently); re-check after waiting.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi

# The mirror the system already uses for Debian (deb822 or one-line sources), else the CDN.
mirror="${BERTH_TRIXIE_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v -- '-security' |
    head -n1 | tr -d ' ' || true)
  mirror="${mirror%/}"
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { log "missing $keyring (package debian-archive-keyring)"; exit 1; }

apt_dir="$dir/apt"
debs="$dir/debs"
root="$dir/root"
mkdir -p "$apt_dir/empty.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$debs" "$dir/bin"
cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$keyring] $mirror trixie main
EOF
# Private apt: only this sources list, its own lists and cache; no sources.list.d, no
# preferences from the host, and no host architectures besides amd64.
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/empty.d"
  -o "Dir::Etc::Preferences=$apt_dir/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_dir/empty.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures=amd64"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root"
)
: >"$apt_dir/status"

log "updating the private trixie package list from $mirror"
apt-get "${apt_opts[@]}" -qq update

# skopeo plus the shared libraries it links against, all from trixie (the loader comes
# with libc6). Names are resolved through the private cache so t64 renames are followed.
packages=(skopeo libc6 libgpgme11t64 libassuan9 libgpg-error0 libsqlite3-0)
log "downloading ${packages[*]}"
rm -f "$debs"/*.deb
(cd "$debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}")

rm -rf "$root"
mkdir -p "$root"
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$root"
done

loader="$root/usr/lib64/ld-linux-x86-64.so.2"
[ -e "$loader" ] || loader="$root/lib64/ld-linux-x86-64.so.2"
[ -e "$loader" ] || loader="$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
[ -e "$loader" ] || { log "trixie's ld-linux-x86-64.so.2 not found under $root"; exit 1; }
# The loader may be an absolute symlink into /; resolve it inside the private root.
if [ -L "$loader" ]; then
  target=$(readlink "$loader")
  case "$target" in
    /*) loader="$root$target" ;;
    *) loader="$(dirname "$loader")/$target" ;;
  esac
fi
loader=$(realpath -s -m "$loader")
libs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"

cat >"$wrapper.tmp" <<EOF
#!/bin/sh
# Debian trixie's skopeo, started through trixie's loader and libraries (scripts/trixie-skopeo.sh).
exec "$loader" --library-path "$libs" "$root/usr/bin/skopeo" "\$@"
EOF
chmod 755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"

version=$("$wrapper" --version) || { log "the wrapper does not run: $wrapper"; exit 1; }
log "$version"
echo "$wrapper"
