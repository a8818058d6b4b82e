#!/usr/bin/env bash
# List commands with filters (issue 20's goal: ≤ 1/5 of Podman's time): `ps --filter
# status=running --format '{{.Names}}'` over 100 containers (3 running) and `images --filter
# dangling=true` over 100 images, berth against podman on private stores, in one run.
# By hand as root (never in CI): bash bench/lists.sh
# Prints NAME berth=… peer=… ratio=… (podman's time over berth's: > 1 means berth is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}

berth_and_podman lists

for i in $(seq 97); do
  "${B[@]}" create --network host bb true >/dev/null
  "${P[@]}" create --network host localhost/bb true >/dev/null
done
for i in 1 2 3; do
  "${B[@]}" run -d --network host --name "up$i" bb sleep 1000 >/dev/null
  "${P[@]}" run -d --network host --name "up$i" localhost/bb sleep 1000 >/dev/null
done
report ps_filter_running_100 \
  "$(median 20 "${B[*]} ps --filter status=running --format {{.Names}}")" \
  "$(median 20 "${P[*]} ps --filter status=running --format {{.Names}}")"

# 100 images without a name, each of its own one-file layer, and the named busybox image.
mkdir -p "$work/img"
for i in $(seq 100); do
  echo "$i" >"$work/img/file"
  tar -C "$work/img" -cf "$work/img.tar" file
  "${B[@]}" import "$work/img.tar" >/dev/null
  "${P[@]}" import "$work/img.tar" >/dev/null 2>&1
done
report images_dangling_100 \
  "$(median 20 "${B[*]} images --filter dangling=true")" \
  "$(median 20 "${P[*]} images --filter dangling=true")"
