#!/usr/bin/env bash
# A restart-on-failure loop: a container whose command exits 1 at once, under
# `--restart on-failure:N`; the mean time from one exit to the container running again
# (the whole loop's wall time over its N+1 runs), berth against Podman 4.3 in the same run.
# By hand as root (never in CI): bash bench/restart.sh
# Prints `restart_on_failure berth=… peer=… ratio=…` (podman's time over berth's: > 1 means
# berth restarts faster), like the other bench scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
# BERTH_BIN: another build to compare (then nothing is built).
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}
N=${N:-20}

berth_and_podman restart

# loop_time IMAGE CMD...: seconds per run of a loop of N restarts, waiting on the state
# (status exited, RestartCount N, no monitor left: nothing more will happen).
loop_time() {
  local image=$1; shift
  local t0 t1 want="exited $N 0"
  "$@" rm -f loop >/dev/null 2>&1 || true
  t0=$(now)
  "$@" run -d --name loop --network none --restart "on-failure:$N" "$image" sh -c 'exit 1' >/dev/null
  until [ "$("$@" inspect --format '{{.State.Status}} {{.RestartCount}} {{.State.ConmonPid}}' loop)" = "$want" ]; do
    sleep 0.02
  done
  t1=$(now)
  "$@" rm -f loop >/dev/null
  python3 -c "print(f'{($t1 - $t0) / ($N + 1):.4f}')"
}

b=$(loop_time bb "${B[@]}")
p=$(loop_time localhost/bb "${P[@]}")
python3 -c "b,p=$b,$p; print(f'restart_on_failure berth={b}s peer={p}s ratio={p/b:.2f}')"
