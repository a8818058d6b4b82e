#!/usr/bin/env bash
# kube play (issue 17): a Deployment of 2 replicas (busybox sleeping, a ConfigMap as env and as
# a volume), berth against Podman 4.3 in the same run, each on its default bridge network;
# `kube down` (untimed) after each round. By hand as root (never in CI):
# bash bench/kube_play.sh [ROUNDS]. Prints kube_play_2 berth=… peer=… ratio=… (Podman's
# median wall time over berth's: > 1 means berth is faster), like the other bench scripts.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
# BERTH_BIN: another build (then none is made here), to compare.
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}
rounds=${1:-10}

berth_and_podman kplay
bench_cleanup_extra() {
  "${B[@]}" pod rm -f -a >/dev/null 2>&1 || true
  "${P[@]}" pod rm -f -a -t 0 >/dev/null 2>&1 || true
}

# yaml IMAGE: the file (a shell as pid 1 that ends on SIGTERM: `kube down` waits for nobody).
yaml() {
  cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: bench-cm}
data: {GREETING: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench-web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: $1
        imagePullPolicy: IfNotPresent
        command: [/bin/sh, -c, "trap 'exit 0' TERM; while :; do /bin/sleep 1; done"]
        env:
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: bench-cm, key: GREETING}}
        volumeMounts: [{name: cfg, mountPath: /cfg}]
      volumes:
      - {name: cfg, configMap: {name: bench-cm}}
YAML
}
yaml localhost/bb >"$work/berth.yaml"
yaml localhost/bb >"$work/podman.yaml"

# play_round TOOL FILE: one timed `kube play` (seconds on stdout), then `kube down`.
play_round() {
  local -n tool=$1
  local t0 t1
  t0=$(now)
  "${tool[@]}" kube play "$2" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  t1=$(now)
  "${tool[@]}" kube down "$2" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  secs "$t0" "$t1"
}

middle() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# One untimed round each: the pause images are made.
play_round B "$work/berth.yaml" >/dev/null
play_round P "$work/podman.yaml" >/dev/null
b=() p=()
for _ in $(seq "$rounds"); do
  b+=("$(play_round B "$work/berth.yaml")")
  p+=("$(play_round P "$work/podman.yaml")")
done
report kube_play_2 "$(middle "${b[@]}")" "$(middle "${p[@]}")"
