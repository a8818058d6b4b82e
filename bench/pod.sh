#!/usr/bin/env bash
# Pods (issue 17): `pod create` and 2 containers started in it (busybox sleeping), berth
# against Podman 4.3 in the same run, each on its default bridge network; the pod removed
# (untimed) after each round. By hand as root (never in CI): bash bench/pod.sh [ROUNDS]
# Prints pod_create_2 berth=… peer=… ratio=… (Podman's median wall time over berth's: > 1
# means berth is faster), like the other bench scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
# BERTH_BIN: another build (then none is made here), to compare.
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}
rounds=${1:-10}

berth_and_podman pod
bench_cleanup_extra() {
  "${B[@]}" pod rm -f -a >/dev/null 2>&1 || true
  "${P[@]}" pod rm -f -a -t 0 >/dev/null 2>&1 || true
}

# pod_round TOOL IMAGE N: one timed round (seconds on stdout), then the pod removed.
pod_round() {
  local -n tool=$1
  local t0 t1
  t0=$(now)
  "${tool[@]}" pod create --name "bench-pod-$3" >/dev/null
  "${tool[@]}" run -d --pod "bench-pod-$3" "$2" sleep 1000 >/dev/null
  "${tool[@]}" run -d --pod "bench-pod-$3" "$2" sleep 1000 >/dev/null
  t1=$(now)
  if [ "$1" = P ]; then
    "${tool[@]}" pod rm -f -t 0 "bench-pod-$3" >/dev/null
  else
    "${tool[@]}" pod rm -f "bench-pod-$3" >/dev/null
  fi
  secs "$t0" "$t1"
}

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# One untimed round each: berth makes its pause image, Podman builds its own.
pod_round B bb warm >/dev/null
pod_round P localhost/bb warm >/dev/null
b=() p=()
for i in $(seq "$rounds"); do
  b+=("$(pod_round B bb "$i")")
  p+=("$(pod_round P localhost/bb "$i")")
done
bm=$(median "${b[@]}") pm=$(median "${p[@]}")
python3 -c 'import sys; b,p=float(sys.argv[1]),float(sys.argv[2]); print(f"pod_create_2 berth={b:.3f}s peer={p:.3f}s ratio={p/b:.2f}")' "$bm" "$pm"
