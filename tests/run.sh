#!/usr/bin/env bash
# The whole test suite: install what the tests use, then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# crun refuses a hybrid cgroup layout while cgroup2 holds a controller (here hugetlb, which has
# no v1 hierarchy): give hugetlb its v1 hierarchy so the run tests can use crun as well as runc.
# Not fatal: where it cannot be mounted, the crun tests say they are skipped.
if [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/cgroup/unified ] \
  && ! grep -q ' /sys/fs/cgroup/hugetlb ' /proc/mounts; then
  mkdir -p /sys/fs/cgroup/hugetlb 2>/dev/null || true
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null \
    || echo "tests/run.sh: no v1 hugetlb hierarchy could be mounted; the crun tests will be skipped" >&2
fi
cargo test --workspace "$@"
