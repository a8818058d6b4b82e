#!/usr/bin/env bash
# Network benchmarks as root: a busybox httpd container on the default bridge network with a
# published port on 127.0.0.1, berth against podman (netavark for both), in one run. By hand
# (never in CI): bash bench/network.sh
# Prints NAME berth=… peer=… ratio=…:
# - net_first_curl: from `run -d -p` to the first successful curl of the page (median of 5;
#   ratio > 1: berth serves sooner);
# - net_throughput_MiBps: a 256 MiB file fetched with curl through the published port (best
#   of 3; ratio > 1: berth's is faster; the kernel does the work for both, the issue's goal
#   is ≥ 1).
# Rootless (pasta against Podman's slirp4netns) is bench/rootless_network.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}

berth_and_podman net

# Seconds from `run -d -p` to the first curl that gets the page.
first_curl() {
  local port t0 t1
  port=$(free_port)
  t0=$(now)
  "$@" run -d --name first -p "127.0.0.1:$port:80" "$IMG" \
    sh -c 'mkdir -p /www && echo up >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
  until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.005; done
  t1=$(now)
  "$@" rm -f -t 0 first >/dev/null 2>&1 || "$@" rm -f first >/dev/null
  secs "$t0" "$t1"
}
median5() {
  local f=$1; shift
  for _ in 1 2 3 4 5; do "$f" "$@"; done | sort -n | sed -n 3p
}

# MiB/s of the best of 3 fetches of a 256 MiB file.
throughput() {
  local port best=0 t
  port=$(free_port)
  "$@" run -d --name big -p "127.0.0.1:$port:80" "$IMG" \
    sh -c 'mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=256 2>/dev/null && exec httpd -f -p 80 -h /www' >/dev/null
  until curl -fs -o /dev/null -r 0-0 "http://127.0.0.1:$port/big"; do sleep 0.05; done
  for _ in 1 2 3; do
    t=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$port/big")
    best=$(python3 -c "print(max($best, $t / 1048576))")
  done
  "$@" rm -f -t 0 big >/dev/null 2>&1 || "$@" rm -f big >/dev/null
  printf '%.0f\n' "$best"
}

IMG=bb
b=$(median5 first_curl "${B[@]}")
IMG=localhost/bb
p=$(median5 first_curl "${P[@]}")
echo "net_first_curl berth=${b}s peer=${p}s ratio=$(python3 -c "print(f'{$p / $b:.2f}')")"

IMG=bb
b=$(throughput "${B[@]}")
IMG=localhost/bb
p=$(throughput "${P[@]}")
echo "net_throughput_MiBps berth=$b peer=$p ratio=$(python3 -c "print(f'{$b / $p:.2f}')")"
