#!/usr/bin/env bash
# The whole test suite: install what the tests use, then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo test --workspace "$@"
