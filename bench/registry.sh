#!/usr/bin/env bash
# Registry benchmarks: berth push/pull against skopeo push and podman pull, on Debian's
# docker-registry at 127.0.0.1 (a free port, its own temp storage), in one run.
# By hand as root (never in CI): bash bench/registry.sh [SIZE_MIB]
# Prints NAME berth=… peer=… ratio=… (ratio > 1 means berth is faster / leaner).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
size_mib=${1:-512}
bash scripts/deps.sh
cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare

work=$(mktemp -d /var/tmp/berth-bench-reg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
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
P=(podman --root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay)
cleanup() {
  kill "$registry_pid" 2>/dev/null || true
  "${P[@]}" rmi -a -f >/dev/null 2>&1 || true
  unmount_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
line() { echo "$1 berth=$2 peer=$3 ratio=$(ratio "$3" "$2")"; }
rss() { /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1; tail -1 "$work/rss"; }

# One random (incompressible) layer of SIZE_MIB, as an image in berth's store and as an OCI
# layout for skopeo, with the same gzip blob.
mkdir -p "$work/tree"
head -c "$((size_mib << 20))" /dev/urandom >"$work/tree/random.bin"
for codec in gzip zstd; do
  B=("$berth" --root "$work/store-$codec")
  "${B[@]}" import --compression-format "$codec" "$work/tree" "big-$codec" >/dev/null
  "${B[@]}" save --format oci-dir -o "$work/layout-$codec" "big-$codec"
  tag=$(python3 -c "import json; print(json.load(open('$work/layout-$codec/index.json'))['manifests'][0]['annotations']['org.opencontainers.image.ref.name'])")

  t0=$(now); "${B[@]}" push -q --tls-verify=false "big-$codec" "$reg/berth/big-$codec:1"; t1=$(now)
  t2=$(now); skopeo copy -q --dest-tls-verify=false "oci:$work/layout-$codec:$tag" "docker://$reg/skopeo/big-$codec:1"; t3=$(now)
  line "push_${codec}_${size_mib}MiB_seconds" "$(secs "$t0" "$t1")" "$(secs "$t2" "$t3")"
  # The registry's own ceiling: one raw monolithic PUT of the same blob with curl.
  blob=$(python3 -c "import json; m=json.load(open('$work/layout-$codec/blobs/sha256/'+json.load(open('$work/layout-$codec/index.json'))['manifests'][0]['digest'].split(':')[1])); print(m['layers'][0]['digest'])")
  loc=$(curl -si -X POST "http://$reg/v2/curl/big-$codec/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  t0=$(now)
  curl -fs -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T "$work/layout-$codec/blobs/sha256/${blob#sha256:}" "$loc&digest=$blob"
  t1=$(now)
  echo "push_${codec}_${size_mib}MiB_registry_ceiling_curl_seconds curl=$(secs "$t0" "$t1")"

  t0=$(now); "$berth" --root "$work/pull-$codec" pull -q --tls-verify=false "$reg/berth/big-$codec:1" >/dev/null; t1=$(now)
  t2=$(now); "${P[@]}" pull -q --tls-verify=false "$reg/berth/big-$codec:1" >/dev/null; t3=$(now)
  line "pull_${codec}_${size_mib}MiB_seconds" "$(secs "$t0" "$t1")" "$(secs "$t2" "$t3")"
done

# Peak RSS of one push and one pull of the gzip image (fresh destinations).
b=$(rss "$berth" --root "$work/store-gzip" push -q --tls-verify=false big-gzip "$reg/berth/rss:1")
p=$(rss skopeo copy -q --dest-tls-verify=false "oci:$work/layout-gzip:$(python3 -c "import json; print(json.load(open('$work/layout-gzip/index.json'))['manifests'][0]['annotations']['org.opencontainers.image.ref.name'])")" "docker://$reg/skopeo/rss:1")
echo "push_peak_rss_KiB berth=$b peer=$p ratio=$(ratio "$p" "$b")"
b=$(rss "$berth" --root "$work/pull-rss" pull -q --tls-verify=false "$reg/berth/rss:1")
"${P[@]}" rmi -a -f >/dev/null 2>&1 || true
p=$(rss "${P[@]}" pull -q --tls-verify=false "$reg/berth/rss:1")
echo "pull_peak_rss_KiB berth=$b peer=$p ratio=$(ratio "$p" "$b")"

# A 20-layer image (1 MiB random each), push and pull; then a no-op re-push.
mkdir -p "$work/layers"
for i in $(seq 1 20); do
  mkdir -p "$work/layers/l$i"; head -c $((1 << 20)) /dev/urandom >"$work/layers/l$i/f$i"
  tar -C "$work/layers/l$i" -cf "$work/layers/l$i.tar" .
done
"${P[@]}" import "$work/layers/l1.tar" localhost/twenty:1 >/dev/null 2>&1
for i in $(seq 2 20); do
  printf 'FROM localhost/twenty:1\nADD l%s.tar /\n' "$i" >"$work/layers/Containerfile"
  "${P[@]}" build -q -t localhost/twenty:1 -f "$work/layers/Containerfile" "$work/layers" >/dev/null 2>&1
done
"${P[@]}" save --format oci-archive -o "$work/twenty.tar" localhost/twenty:1 >/dev/null 2>&1
"$berth" --root "$work/store-20" load -i "$work/twenty.tar" >/dev/null
"${P[@]}" push -q --tls-verify=false localhost/twenty:1 "$reg/podman/twenty:1" >/dev/null 2>&1 || true
t0=$(now); "$berth" --root "$work/store-20" push -q --tls-verify=false localhost/twenty:1 "$reg/berth/twenty:1"; t1=$(now)
t2=$(now); skopeo copy -q --dest-tls-verify=false "oci-archive:$work/twenty.tar" "docker://$reg/skopeo/twenty:1"; t3=$(now)
line "push_20_layers_seconds" "$(secs "$t0" "$t1")" "$(secs "$t2" "$t3")"
t0=$(now); "$berth" --root "$work/pull-20" pull -q --tls-verify=false "$reg/berth/twenty:1" >/dev/null; t1=$(now)
"${P[@]}" rmi -a -f >/dev/null 2>&1 || true
t2=$(now); "${P[@]}" pull -q --tls-verify=false "$reg/berth/twenty:1" >/dev/null; t3=$(now)
line "pull_20_layers_seconds" "$(secs "$t0" "$t1")" "$(secs "$t2" "$t3")"
t0=$(now); "$berth" --root "$work/store-20" push -q --tls-verify=false localhost/twenty:1 "$reg/berth/twenty:1"; t1=$(now)
t2=$(now); skopeo copy -q --dest-tls-verify=false "oci-archive:$work/twenty.tar" "docker://$reg/skopeo/twenty:1"; t3=$(now)
line "repush_noop_20_layers_seconds" "$(secs "$t0" "$t1")" "$(secs "$t2" "$t3")"
