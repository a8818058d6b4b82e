#!/usr/bin/env bash
# Crash harness (issue 19 item 3): berth killed with SIGKILL at random instants during pull,
# push, build, commit, import, load, rmi and prune, KILLS times over the mix (default 240,
# 30 per operation); after each kill the store must check clean (or hold only what
# `system check --repair` clears), no berth process or mount may be left, and the operation
# must succeed when run again. The harness is tests/integration/crash.rs (CI runs it with 20
# kills); this runs it long. Run by hand as root (never in CI):
#   bash bench/crash.sh [KILLS] [SEED]
# Prints the seed first; a failure names the kill, the operation, the instant and the seed,
# and `bash bench/crash.sh KILLS SEED` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-240}
seed=${2:-$(date +%s%N)}
bash scripts/deps.sh
cargo build --quiet
log=$(mktemp /var/tmp/berth-crash.XXXXXX.log)
start=$(date +%s)
status=0
BERTH_CRASH_KILLS=$kills BERTH_CRASH_SEED=$seed \
  cargo test --test integration crash::sigkill_at_random_instants_is_survived -- --nocapture \
  >"$log" 2>&1 || status=$?
grep -E '^crash:|panicked|kill [0-9]+|test result' "$log" || true
echo "full output: $log"
echo "crash kills=$kills seed=$seed seconds=$(( $(date +%s) - start )) status=$status"
exit "$status"
