#!/usr/bin/env bash
# The layer cache shared through a registry (issue 18 item 4): a second machine (a fresh
# store) builds a Containerfile another has pushed with --cache-to, through --cache-from,
# against a fresh build of it (goal: ≤ 1/5 of its time) and against Buildah 1.28's
# --cache-from of its own cache (goal: ≤ 1/2). Debian's docker-registry on 127.0.0.1 (a free
# port, its own temp storage). By hand as root (never in CI):
#   bash bench/build_cache.sh [RUNS]      (BERTH_BIN=target/debug/berth: no release build)
# Prints NAME berth=… peer=… ratio=… (peer's time over berth's: > 1 means berth is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
runs=${1:-3}
bash scripts/deps.sh
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}

work=$(mktemp -d /var/tmp/berth-bench-cache.XXXXXX)
reg=127.0.0.1:$(free_port)
cat >"$work/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $reg
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$reg" >"$work/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf
export REGISTRY_AUTH_FILE=$work/auth.json
echo '{"auths": {}}' >"$REGISTRY_AUTH_FILE"
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024","nproc=4096:4096"]\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
cleanup() {
  kill "$registry_pid" 2>/dev/null || true
  for d in "$work"/bu-*; do
    [ -d "$d" ] && buildah --root "$d/root" --runroot "$d/run" rmi -a -f >/dev/null 2>&1 || true
  done
  unmount_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

# The base image in the registry, for every store.
busybox_rootfs_tar "$work/rootfs" "$work/rootfs.tar"
"$berth" --root "$work/seed" --runroot "$work/seed-run" import "$work/rootfs.tar" bb >/dev/null
"$berth" --root "$work/seed" --runroot "$work/seed-run" push -q --tls-verify=false bb "$reg/base"

# A CI-like Containerfile: a context file, a RUN that computes for a while, a RUN that
# writes 32 MiB.
mkdir -p "$work/ctx"
head -c $((16 << 20)) /dev/urandom >"$work/ctx/data"
cat >"$work/ctx/Containerfile" <<EOF
FROM $reg/base
COPY data /data
RUN i=0; while [ \$i -lt 400000 ]; do i=\$((i+1)); done; echo \$i > /count
ENV STAGE=build
RUN head -c 33554432 /dev/urandom > /blob
EOF

berth_build() { "$berth" --root "$1/store" --runroot "$1/run" build -q --tls-verify=false "${@:2}" "$work/ctx" >/dev/null; }
buildah_build() {
  buildah --root "$1/root" --runroot "$1/run" build -q --layers --tls-verify=false \
    "${@:2}" "$work/ctx" >/dev/null 2>&1
}

# The first machine fills each tool's cache.
berth_build "$work/first" --cache-to "$reg/cache-berth"
buildah_build "$work/bu-first" --cache-to "$reg/cache-buildah"

# Median of $runs builds, each in a store of its own (a machine that has never built it).
timed() {
  local name=$1 times=()
  shift
  for i in $(seq 1 "$runs"); do
    local dir="$work/$name-$i" t0 t1
    t0=$(now)
    "$@" "$dir"
    t1=$(now)
    times+=("$(secs "$t0" "$t1")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
fresh() { berth_build "$1"; }
from_cache() { berth_build "$1" --cache-from "$reg/cache-berth"; }
buildah_from_cache() { buildah_build "$1" --cache-from "$reg/cache-buildah"; }

# How many steps each tool took from its registry cache (a run that hit nothing would measure
# a fresh build).
hits() { grep -c 'Cache pulled from remote' || true; }
echo "build_cache_hits berth=$("$berth" --root "$work/check/store" --runroot "$work/check/run" \
  build --tls-verify=false --cache-from "$reg/cache-berth" "$work/ctx" 2>&1 | hits) \
buildah=$(buildah --root "$work/bu-check/root" --runroot "$work/bu-check/run" build --layers \
  --tls-verify=false --cache-from "$reg/cache-buildah" "$work/ctx" 2>&1 | hits)"

b=$(timed cache from_cache)
f=$(timed fresh fresh)
p=$(timed bu-cache buildah_from_cache)
report build_cache_from_vs_fresh_build "$b" "$f"
report build_cache_from_vs_buildah_cache_from "$b" "$p"
