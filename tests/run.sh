#!/usr/bin/env bash
# The whole test suite: install what the tests use, then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# crun refuses a hybrid cgroup layout while cgroup2 holds a controller (here hugetlb, which has
# no v1 hierarchy): give hugetlb its v1 hierarchy so the run tests can use crun as well as runc.
if [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/cgroup/unified ] \
  && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null \
  && ! grep -q ' /sys/fs/cgroup/hugetlb ' /proc/mounts; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi
cargo test --workspace "$@"
