#!/usr/bin/env bash
# Rootless network throughput (issue 15): a 256 MiB file served by a busybox httpd in a
# container, published on 127.0.0.1 and fetched with curl, as a plain user: berth's pasta (its
# rootless default) and slirp4netns against Podman's rootless default (slirp4netns in Podman
# 4.3); and on a bridge network (the rootless netns: berth's forwarder against Podman's
# rootlessport). By hand as root (it runs the tools as the user berth-rootless, which the rootless tests
# make, with a /etc/subuid range): bash bench/rootless_network.sh
# Prints NAME berth=… peer=… ratio=… (MiB/s; berth's over Podman's: > 1 means berth is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare
user=berth-rootless
id -u "$user" >/dev/null
# pasta and slirp4netns open /dev/net/tun as the user (Debian's udev: mode 0666).
chmod 0666 /dev/net/tun

work=$(mktemp -d /var/tmp/berth-bench-rootless-net.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/home/.config/containers" "$work/run"
printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
  > "$work/home/.config/containers/containers.conf"
busybox_rootfs_tar "$work/rootfs" "$work/rootfs.tar"
chown -R "$user:" "$work"
chmod 0700 "$work/run"
as_user() {
  runuser -u "$user" -- env -i HOME="$work/home" XDG_RUNTIME_DIR="$work/run" \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
cleanup() {
  as_user "$berth" rm -f -a >/dev/null 2>&1 || true
  as_user podman rm -f -a -t 0 >/dev/null 2>&1 || true
  as_user podman system reset -f >/dev/null 2>&1 || true
  [ -f "$work/run/berth/pause.pid" ] && kill -9 "$(cut -d' ' -f1 "$work/run/berth/pause.pid")" 2>/dev/null || true
  unmount_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

as_user "$berth" import "$work/rootfs.tar" bb >/dev/null
as_user podman import "$work/rootfs.tar" localhost/bb >/dev/null 2>&1

serve='mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=256 2>/dev/null && exec httpd -f -p 80 -h /www'
# mibps TOOL NETWORK: MiB/s of the best of 3 fetches of the file.
mibps() {
  local tool=$1 network=$2 port img=bb
  port=$(free_port)
  [ "$tool" = podman ] && img=localhost/bb
  as_user "$tool" run -d --name bench-net --network "$network" -p "127.0.0.1:$port:80" "$img" \
    sh -c "$serve" >/dev/null
  for _ in $(seq 100); do curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$port/big" && break; sleep 0.1; done
  local best=0
  for _ in 1 2 3; do
    best=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$best" \
      "$(curl -sf -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$port/big")")
  done
  as_user "$tool" rm -f bench-net >/dev/null 2>&1
  python3 -c "print(f'{float(\"$best\") / 1048576:.1f}')"
}
report() {
  python3 -c 'import sys; n,b,p=sys.argv[1],float(sys.argv[2]),float(sys.argv[3]); print(f"{n} berth={b}MiB/s peer={p}MiB/s ratio={b/p:.2f}")' "$@"
}

peer=$(mibps podman slirp4netns)
report rootless_publish_256MiB_pasta_vs_podman_slirp4netns "$(mibps "$berth" pasta)" "$peer"
report rootless_publish_256MiB_slirp4netns_vs_podman_slirp4netns "$(mibps "$berth" slirp4netns)" "$peer"
report rootless_publish_256MiB_bridge_vs_podman_bridge "$(mibps "$berth" bridge)" "$(mibps podman bridge)"
