#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/ for SECONDS each (default 600; issue 19 item 2).
# Not in CI. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   bench/fuzz.sh [SECONDS] [TARGET...]
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) and keeps what it finds
# in fuzz/corpus/<target> (not committed); a crash is written to fuzz/artifacts/<target>/
# and the script goes on with the next target, then exits 1 naming the targets that crashed.
# One job per target (-jobs=1): the machine is shared. Built without a sanitizer (the code
# under test is safe Rust; panics, overflow checks — debug assertions are on — hangs and
# memory blow-ups are what is looked for), which builds and runs much faster than ASan.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# One build of every target (the heavy crates, registry, trust and build, behind features).
cargo +nightly fuzz build --sanitizer none --features all
crashed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t/last-run.log"
  echo "== $t (${seconds}s)"
  if cargo +nightly fuzz run --sanitizer none --features all "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -jobs=1 -workers=1 -rss_limit_mb=2048 -timeout=10 \
      -max_len=1048576 -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units' "$log" || true
  else
    crashed+=("$t")
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -5 || true
  fi
done
if [ ${#crashed[@]} -gt 0 ]; then
  echo "crashed: ${crashed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "no crash in ${#targets[@]} targets"
