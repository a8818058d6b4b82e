#!/usr/bin/env bash
# Quick start, end to end on a fresh Debian machine (as root): install what berth uses, build
# berth, make a base image from Debian's static busybox, store it, save and load it, run a
# container from it, and check the store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
berth=$PWD/target/release/berth

work=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
root=$work/store
cleanup() {
  "$berth" --root "$root" --runroot "$work/run" rm -f -a >/dev/null 2>&1 || true
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A rootfs of one static binary plus its applet links.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
tar -C "$work/rootfs" --numeric-owner -cf "$work/busybox.tar" .

set -x
"$berth" --root "$root" import "$work/busybox.tar" busybox --change 'CMD ["/bin/sh"]'
"$berth" --root "$root" images
"$berth" --root "$root" save --format oci-archive -o "$work/busybox-oci.tar" busybox
"$berth" --root "$root" rmi busybox
"$berth" --root "$root" load -i "$work/busybox-oci.tar"
"$berth" --root "$root" --runroot "$work/run" run --rm busybox \
  sh -c 'echo "hello from $(hostname) as $(id -un), pid $$"'
"$berth" --root "$root" system check
