#!/usr/bin/env bash
# Container benchmarks: `berth run/exec/ps` against `podman` on the same busybox rootfs, in one
# run. By hand as root (never in CI): bash bench/run.sh
# Prints NAME berth=… peer=… ratio=… (podman's value over berth's: > 1 means berth is faster or
# leaner), like the other bench scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare

berth_and_podman run

peak_rss() {
  /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
}

report run_true "$(median 20 "${B[*]} run --rm --network host bb true")" \
  "$(median 20 "${P[*]} run --rm --network host localhost/bb true")"
if [ -z "$(tr -d '[:space:]' < /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
  # crun (Podman's own default here) runs on this host kind once hugetlb has a v1 hierarchy.
  report run_true_crun "$(median 20 "${B[*]} run --rm --network host --runtime crun bb true")" \
    "$(median 20 "${P[*]} run --rm --network host localhost/bb true")"
fi
report run_network_none "$(median 20 "${B[*]} run --rm --network none bb true")" \
  "$(median 20 "${P[*]} run --rm --network none localhost/bb true")"
# Private networks: berth's default bridge network against Podman's (netavark for both).
report run_network_bridge "$(median 20 "${B[*]} run --rm --network bridge bb true")" \
  "$(median 20 "${P[*]} run --rm --network bridge localhost/bb true")"
b=$(peak_rss "${B[@]}" run --rm --network host bb true)
p=$(peak_rss "${P[@]}" run --rm --network host localhost/bb true)
echo "run_true_peak_rss_KiB berth=$b peer=$p ratio=$(python3 -c "print(f'{$p / $b:.2f}')")"

"${B[@]}" run -d --network host --name ex bb sleep 1000 >/dev/null
"${P[@]}" run -d --network host --name ex localhost/bb sleep 1000 >/dev/null
report exec_true "$(median 20 "${B[*]} exec ex true")" "$(median 20 "${P[*]} exec ex true")"
"${B[@]}" rm -f ex >/dev/null
"${P[@]}" rm -f -t 0 ex >/dev/null

for _ in $(seq 100); do
  "${B[@]}" create bb true >/dev/null
  "${P[@]}" create localhost/bb true >/dev/null
done
report ps_100 "$(median 10 "${B[*]} ps -a")" "$(median 10 "${P[*]} ps -a")"
