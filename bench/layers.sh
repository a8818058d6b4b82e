#!/usr/bin/env bash
# Layer codec benchmarks: berth against pigz/zstd, podman import and umoci unpack, in one run.
# Run by hand as root (never in CI): bash bench/layers.sh [SIZE_MIB]
# Prints one line per metric: NAME berth=… peer=… ratio=… (ratio > 1 means berth is better).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
size_mib=${1:-512}
bash scripts/deps.sh
cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare

work=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
cleanup() {
  "$berth" --root "$work/store" image unmount --all >/dev/null 2>&1 || true
  podman --root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay \
    rmi -a -f >/dev/null 2>&1 || true
  unmount_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

# A tree of $size_mib MiB: half incompressible, half text-like; many small files and some big.
tree=$work/tree
mkdir -p "$tree"
python3 - "$tree" "$size_mib" <<'PY'
import os, random, sys
root, size = sys.argv[1], int(sys.argv[2]) << 20
rnd = random.Random(42)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(5000)]
written, n = 0, 0
while written < size:
    d = os.path.join(root, f"d{n // 200:04d}")
    os.makedirs(d, exist_ok=True)
    big = n % 50 == 0
    length = rnd.randint(4 << 20, 16 << 20) if big else rnd.randint(1 << 10, 256 << 10)
    length = min(length, size - written)
    with open(os.path.join(d, f"f{n:06d}"), "wb") as f:
        if n % 2:
            f.write(os.urandom(length))
        else:
            out, total = [], 0
            while total < length:
                w = rnd.choice(words) + b" "
                out.append(w); total += len(w)
            f.write(b"".join(out)[:length])
    written += length
    n += 1
PY
tar -C "$tree" --numeric-owner -cf "$work/tree.tar" .
bytes=$(stat -c %s "$work/tree.tar")
sync

mbps() { python3 -c "print(f'{$bytes / ($2 - $1) / 1e6:.1f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
line() { echo "$1 berth=$2 peer=$3 ratio=$(ratio "$4" "$5")"; }

# 1. Layer creation throughput: berth import of the directory (tar + compress + hash + store)
#    against tar | pigz -p 2 / zstd -T2 -3 into a file.
for codec in gzip zstd; do
  rm -rf "$work/store"
  t0=$(now); "$berth" --root "$work/store" import --compression-format "$codec" "$tree" "bench-$codec" >/dev/null; t1=$(now)
  if [ "$codec" = gzip ]; then peer="pigz -p 2 -6"; else peer="zstd -q -T2 -3"; fi
  t2=$(now); tar -C "$tree" --numeric-owner -cf - . | $peer >"$work/peer.$codec"; t3=$(now)
  b=$(mbps "$t0" "$t1"); p=$(mbps "$t2" "$t3")
  line "layer_create_${codec}_MBps" "$b" "$p" "$b" "$p"
done

# 2. berth import against podman import of the same tarball (seconds; ratio = peer / berth).
rm -rf "$work/store"
t0=$(now); "$berth" --root "$work/store" import "$work/tree.tar" bench >/dev/null; t1=$(now)
t2=$(now); podman --root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay \
  import "$work/tree.tar" localhost/bench >/dev/null 2>&1; t3=$(now)
b=$(python3 -c "print(f'{$t1 - $t0:.2f}')"); p=$(python3 -c "print(f'{$t3 - $t2:.2f}')")
line "import_seconds" "$b" "$p" "$p" "$b"

# 3. Unpack: berth's first mount of the image (unpacks the layer) against umoci unpack of the
#    same image saved as an OCI layout (seconds; ratio = peer / berth).
"$berth" --root "$work/store" save --format oci-dir -o "$work/layout" bench
tag=$(python3 -c "import json,sys; print(json.load(open('$work/layout/index.json'))['manifests'][0]['annotations']['org.opencontainers.image.ref.name'])")
rm -rf "$work/store2"; "$berth" --root "$work/store2" load -i "$work/layout" >/dev/null
sync
t0=$(now); "$berth" --root "$work/store2" image mount bench >/dev/null; t1=$(now)
"$berth" --root "$work/store2" image unmount bench >/dev/null
t2=$(now); umoci unpack --image "$work/layout:$tag" "$work/bundle" >/dev/null 2>&1; t3=$(now)
b=$(python3 -c "print(f'{$t1 - $t0:.2f}')"); p=$(python3 -c "print(f'{$t3 - $t2:.2f}')")
line "unpack_seconds" "$b" "$p" "$p" "$b"

# 4. Peak RSS of berth while writing and unpacking this layer (KiB; peer: podman import and umoci).
rm -rf "$work/store3" "$work/bundle2"
b=$( { /usr/bin/time -f %M "$berth" --root "$work/store3" import "$tree" rss >/dev/null; } 2>&1 | tail -1)
p=$( { /usr/bin/time -f %M podman --root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay import "$work/tree.tar" localhost/rss >/dev/null; } 2>&1 | tail -1)
line "import_peak_rss_KiB" "$b" "$p" "$p" "$b"
rm -rf "$work/store4"; "$berth" --root "$work/store4" load -i "$work/layout" >/dev/null
b=$( { /usr/bin/time -f %M "$berth" --root "$work/store4" image mount bench >/dev/null; } 2>&1 | tail -1)
"$berth" --root "$work/store4" image unmount bench >/dev/null
p=$( { /usr/bin/time -f %M umoci unpack --image "$work/layout:$tag" "$work/bundle2" >/dev/null; } 2>&1 | tail -1)
line "unpack_peak_rss_KiB" "$b" "$p" "$p" "$b"
