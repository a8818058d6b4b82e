#!/usr/bin/env bash
# Build benchmarks: berth build against buildah bud --layers on the same Containerfiles and
# contexts, in one run. By hand as root (never in CI): bash bench/build.sh
# Prints NAME berth=…s peer=…s ratio=… (ratio = buildah's time / berth's: > 1 means berth is
# faster).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare

work=$(mktemp -d /var/tmp/berth-bench-build.XXXXXX)
B=("$berth" --root "$work/store" --runroot "$work/run")
S=(--root "$work/cs" --runroot "$work/cs-run" --storage-driver overlay)
# Podman's and Buildah's default nofile ulimit is above this host kind's hard cap.
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
cleanup() {
  buildah "${S[@]}" rm -a >/dev/null 2>&1 || true
  buildah "${S[@]}" rmi -a -f >/dev/null 2>&1 || true
  unmount_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

# The same busybox base image in both stores.
busybox_rootfs_tar "$work/rootfs" "$work/rootfs.tar"
"${B[@]}" import "$work/rootfs.tar" localhost/bb >/dev/null
podman "${S[@]}" import "$work/rootfs.tar" localhost/bb >/dev/null 2>&1

ratio() { python3 -c "print(f'{$1 / max($2, 0.001):.2f}')"; }
# bench NAME CONTEXT: a fresh build, then a cached rebuild, with each tool.
bench() {
  local name=$1 ctx=$2 t0 t1 t2 t3 bf bc pf pc
  t0=$(now); "${B[@]}" build -q -t "localhost/$name" "$ctx" >/dev/null; t1=$(now)
  t2=$(now); "${B[@]}" build -q -t "localhost/$name" "$ctx" >/dev/null; t3=$(now)
  bf=$(secs "$t0" "$t1"); bc=$(secs "$t2" "$t3")
  t0=$(now); buildah "${S[@]}" bud -q --layers -t "localhost/$name" "$ctx" >/dev/null 2>&1; t1=$(now)
  t2=$(now); buildah "${S[@]}" bud -q --layers -t "localhost/$name" "$ctx" >/dev/null 2>&1; t3=$(now)
  pf=$(secs "$t0" "$t1"); pc=$(secs "$t2" "$t3")
  echo "${name}_fresh_seconds berth=$bf peer=$pf ratio=$(ratio "$pf" "$bf")"
  echo "${name}_cached_seconds berth=$bc peer=$pc ratio=$(ratio "$pc" "$bc")"
}

mkdir -p "$work/run5"
{
  echo "FROM localhost/bb"
  for i in 1 2 3 4 5; do echo "RUN echo step $i > /step$i"; done
} >"$work/run5/Containerfile"
bench run5 "$work/run5"

mkdir -p "$work/files/src"
python3 - "$work/files/src" <<'PY'
import os, sys
for i in range(10000):
    d = os.path.join(sys.argv[1], f"d{i // 500:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write(os.urandom(1024))
PY
printf 'FROM localhost/bb\nCOPY src /src\n' >"$work/files/Containerfile"
bench copy10k "$work/files"

mkdir -p "$work/big"
head -c $((512 << 20)) /dev/urandom >"$work/big/big.bin"
printf 'FROM localhost/bb\nCOPY big.bin /big.bin\n' >"$work/big/Containerfile"
bench copy512m "$work/big"

mkdir -p "$work/stages"
cat >"$work/stages/Containerfile" <<'CF'
FROM localhost/bb AS builder
RUN mkdir -p /out && echo built > /out/result
FROM localhost/bb
COPY --from=builder /out/result /result
CMD ["cat", "/result"]
CF
bench twostage "$work/stages"

# Peak RSS of a fresh build that copies the 512 MiB file (KiB).
"${B[@]}" rmi -f localhost/copy512m >/dev/null 2>&1 || true
/usr/bin/time -f %M -o "$work/rss" "${B[@]}" build -q --no-cache -t localhost/rss "$work/big" >/dev/null 2>&1
b=$(tail -1 "$work/rss")
/usr/bin/time -f %M -o "$work/rss" buildah "${S[@]}" bud -q --no-cache -t localhost/rss "$work/big" >/dev/null 2>&1
p=$(tail -1 "$work/rss")
echo "copy512m_peak_rss_KiB berth=$b peer=$p ratio=$(ratio "$p" "$b")"
