#!/usr/bin/env bash
# Docker API benchmarks: the docker CLI driving `berth system service` against the same CLI
# driving `podman system service`, in one run, on the same busybox rootfs. By hand as root
# (never in CI): bash bench/api.sh [LOAD_SECONDS]
# Prints NAME berth=… peer=… ratio=… (podman's value over berth's: > 1 means berth is faster or
# leaner), like the other bench scripts. LOAD_SECONDS (default 60) is how long 20 clients run
# `docker run --rm` at once before the services' RSS is read again.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare
load_seconds=${1:-60}

berth_pid=
podman_pid=
# The services first, then the stores (bench_cleanup).
bench_cleanup_extra() {
  [ -z "$berth_pid" ] || kill "$berth_pid" 2>/dev/null || true
  [ -z "$podman_pid" ] || kill "$podman_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
berth_and_podman api
DB=(docker -H "unix://$work/berth.sock")
DP=(docker -H "unix://$work/podman.sock")
export DOCKER_CONFIG=$work/docker-config  # no user config, no BuildKit/context surprises
export DOCKER_BUILDKIT=0

"${B[@]}" system service --time 0 "unix://$work/berth.sock" 2>"$work/berth.log" &
berth_pid=$!
"${P[@]}" system service --time 0 "unix://$work/podman.sock" 2>"$work/podman.log" &
podman_pid=$!
for _ in $(seq 100); do
  "${DB[@]}" version >/dev/null 2>&1 && "${DP[@]}" version >/dev/null 2>&1 && break
  sleep 0.1
done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
report_rss() {
  local b p
  b=$(rss "$berth_pid")
  p=$(rss "$podman_pid")
  echo "$1 berth=${b}KiB peer=${p}KiB ratio=$(python3 -c "print(f'{$p / $b:.2f}')")"
}

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }
report_rss api_service_idle_rss
idle_fds=$(fds "$berth_pid")
idle_threads=$(threads "$berth_pid")
# Host network on both: the API's cost, not netavark's (bench/run.sh has the bridge numbers).
report api_run_true "$(median 20 "${DB[*]} run --rm --network host bb true")" \
  "$(median 20 "${DP[*]} run --rm --network host localhost/bb true")"

for i in $(seq 100); do
  "${B[@]}" create --network host bb true >/dev/null
  "${P[@]}" create --network host localhost/bb true >/dev/null
  "${B[@]}" tag bb "localhost/bench$i:1" >/dev/null
  "${P[@]}" tag localhost/bb "localhost/bench$i:1" >/dev/null
done
report api_ps_100 "$(median 10 "${DB[*]} ps -a")" "$(median 10 "${DP[*]} ps -a")"
report api_images_100 "$(median 10 "${DB[*]} images")" "$(median 10 "${DP[*]} images")"
"${B[@]}" rm -f -a >/dev/null
"${P[@]}" rm -f -a -t 0 >/dev/null

# 20 clients at once, each running `docker run --rm` in a loop for LOAD_SECONDS.
load() {
  local end=$((SECONDS + load_seconds)) n=0
  while [ "$SECONDS" -lt "$end" ]; do
    "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
    n=$((n + 1))
  done
  echo "$n"
}
for side in berth podman; do
  if [ "$side" = berth ]; then cli=("${DB[@]}"); img=bb; else cli=("${DP[@]}"); img=localhost/bb; fi
  for c in $(seq 20); do
    load "${cli[@]}" run --rm --network host "$img" true >"$work/load-$side-$c" &
  done
  wait_ok=0
  for job in $(jobs -p); do
    [ "$job" = "$berth_pid" ] || [ "$job" = "$podman_pid" ] || wait "$job" || wait_ok=1
  done
  [ "$wait_ok" = 0 ] || echo "api_load_$side: some clients failed" >&2
  cat "$work"/load-"$side"-* | awk -v s="$side" '{n += $1} END {print "api_load_runs_" s " " n}'
done
report_rss api_service_rss_after_load
# The service gives back what the load took (the issue's "return to their start values").
echo "api_service_fds_threads berth_idle=$idle_fds/$idle_threads berth_after=$(fds "$berth_pid")/$(threads "$berth_pid")"
