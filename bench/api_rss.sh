#!/usr/bin/env bash
# The API service's memory under a mixed load (issue 16): `berth system service` against
# `podman system service` (private roots, one busybox image), each driven by the docker CLI.
# RSS (VmRSS in /proc/PID/status), fds and threads of each service: idle, right after 20
# clients have run `docker ps`, `docker images` and `docker run --rm` in a loop for
# LOAD_SECONDS, and again once the services have been idle for 15 s (berth gives freed heap
# back after 10 s idle: api/src/memory.rs). By hand as root (never in CI), not while other
# builds run (the load average is printed with the numbers):
#   bash bench/api_rss.sh [LOAD_SECONDS]      (default 60; BERTH_BIN: another berth binary)
# Prints NAME berth=… peer=… ratio=… (podman's over berth's: > 1 means berth is leaner).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
if [ -z "${BERTH_BIN:-}" ]; then cargo build --release --quiet; fi
berth=${BERTH_BIN:-$PWD/target/release/berth}
load_seconds=${1:-60}

berth_pid=
podman_pid=
bench_cleanup_extra() {
  [ -z "$berth_pid" ] || kill "$berth_pid" 2>/dev/null || true
  [ -z "$podman_pid" ] || kill "$podman_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
berth_and_podman api-rss
export DOCKER_CONFIG=$work/docker-config
export DOCKER_BUILDKIT=0
"${B[@]}" system service --time 0 "unix://$work/berth.sock" 2>"$work/berth.log" &
berth_pid=$!
"${P[@]}" system service --time 0 "unix://$work/podman.sock" 2>"$work/podman.log" &
podman_pid=$!
for _ in $(seq 100); do
  docker -H "unix://$work/berth.sock" version >/dev/null 2>&1 &&
    docker -H "unix://$work/podman.sock" version >/dev/null 2>&1 && break
  sleep 0.1
done

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# Anonymous memory (the heap and stacks; RSS also counts the binary's pages, large in a
# debug build).
anon() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }
# state PID: "RSS_KIB FDS/THREADS ANON_KIB".
state() { echo "$(rss "$1") $(fds "$1")/$(threads "$1") $(anon "$1")"; }
# line NAME "BERTH_STATE" "PEER_STATE"
line() {
  local b=($2) p=($3)
  echo "$1 berth=${b[0]}KiB peer=${p[0]}KiB ratio=$(python3 -c "print(f'{${p[0]} / ${b[0]}:.2f}')")" \
    "anon berth=${b[2]}KiB peer=${p[2]}KiB fds/threads berth=${b[1]} peer=${p[1]}"
}

# One client: ps, images, run --rm in turn until the time is up; prints its round count.
client() {
  local sock=$1 img=$2 end=$((SECONDS + load_seconds)) n=0
  local d=(docker -H "unix://$sock")
  while [ "$SECONDS" -lt "$end" ]; do
    "${d[@]}" ps -a >/dev/null && "${d[@]}" images >/dev/null &&
      "${d[@]}" run --rm --network host "$img" true >/dev/null ||
      { echo "FAILED on $sock" >&2; return 1; }
    n=$((n + 1))
  done
  echo "$n"
}

line api_rss_idle "$(state "$berth_pid")" "$(state "$podman_pid")"
# One side at a time (20 clients each), each sampled right after its load and after 15 s idle.
declare -A after idle
for side in berth podman; do
  if [ "$side" = berth ]; then sock=$work/berth.sock img=bb pid=$berth_pid
  else sock=$work/podman.sock img=localhost/bb pid=$podman_pid; fi
  pids=()
  for c in $(seq 20); do
    client "$sock" "$img" >"$work/load-$side-$c" &
    pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ "$failed" = 0 ] || echo "api_rss_load_$side: some clients failed" >&2
  after[$side]=$(state "$pid")
  cat "$work"/load-"$side"-* | awk -v s="$side" '{n += $1} END {print "api_rss_rounds_" s " " n}'
  echo "load_average_after_$side $(cut -d' ' -f1-3 /proc/loadavg)"
  sleep 15
  idle[$side]=$(state "$pid")
done
line api_rss_after_load "${after[berth]}" "${after[podman]}"
line api_rss_after_idle_15s "${idle[berth]}" "${idle[podman]}"
