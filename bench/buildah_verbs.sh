#!/usr/bin/env bash
# Buildah's verbs: `berth buildah from` + `run` + `commit --rm` against Buildah 1.28's on the
# same busybox image (issue 18's goal: ≤ 1/3 of Buildah's time). By hand as root (never in
# CI): bash bench/buildah_verbs.sh. Prints NAME berth=… peer=… ratio=… (Buildah's time over
# berth's: > 1 means berth is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare

berth_and_podman verbs  # a short name: Podman refuses a runroot over 50 characters
# Buildah on Podman's private store (the image is there as localhost/bb).
BU=(buildah --root "$work/podman" --runroot "$work/podman-run")
bench_cleanup_extra() { "${BU[@]}" rm -a >/dev/null 2>&1 || true; }

# Median of N runs (after 1 warm-up) of from + run + commit --rm, wall seconds.
cycle() {
  local tool=$1 image=$2 n=$3 times=()
  local -n cmd=$tool
  for i in $(seq 0 "$n"); do
    local t0 t1 c
    t0=$(now)
    c=$("${cmd[@]}" from "$image")
    "${cmd[@]}" run --network host "$c" -- sh -c 'echo x > /x' >/dev/null
    "${cmd[@]}" commit --rm "$c" "verbs-$i" >/dev/null 2>&1
    t1=$(now)
    [ "$i" -eq 0 ] || times+=("$(secs "$t0" "$t1")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

BB=("${B[@]}" buildah)
b=$(cycle BB bb 10)
p=$(cycle BU localhost/bb 10)
python3 -c 'import sys; b,p=float(sys.argv[1]),float(sys.argv[2]); print(f"buildah_from_run_commit berth={b}s peer={p}s ratio={p/b:.2f}")' "$b" "$p"
