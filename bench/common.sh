# Shared by the bench scripts (sourced, not run): timing helpers, the busybox base rootfs the
# run and build benches give both tools, and unmounting what a bench left under its work dir.

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# busybox_rootfs_tar DIR TAR: a rootfs of Debian's static busybox with its applet links in
# DIR, tarred to TAR.
busybox_rootfs_tar() {
  local root=$1
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  cp /bin/busybox "$root/bin/"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  tar -C "$root" -cf "$2" .
}

# unmount_under DIR: lazily unmount every mount point below DIR, deepest first.
unmount_under() {
  grep -o " $1[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# berth_and_podman NAME: a work dir /var/tmp/berth-bench-NAME.XXXXXX ($work) with a private
# store for each tool ($B and $P, the command lines), Podman run without its default ulimits
# (above this host kind's hard cap), the same busybox image in both (`bb`, `localhost/bb`),
# and everything removed on exit (bench_cleanup, which a script may extend: it calls
# bench_cleanup_extra first when defined). Needs $berth.
berth_and_podman() {
  work=$(mktemp -d "/var/tmp/berth-bench-$1.XXXXXX")
  B=("$berth" --root "$work/store" --runroot "$work/run")
  P=(podman --root "$work/podman" --runroot "$work/podman-run")
  printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
  export CONTAINERS_CONF=$work/containers.conf
  trap bench_cleanup EXIT
  busybox_rootfs_tar "$work/rootfs" "$work/rootfs.tar"
  "${B[@]}" import "$work/rootfs.tar" bb >/dev/null
  "${P[@]}" import "$work/rootfs.tar" localhost/bb >/dev/null 2>&1
}

bench_cleanup() {
  if declare -F bench_cleanup_extra >/dev/null; then bench_cleanup_extra; fi
  "${B[@]}" rm -f -a >/dev/null 2>&1 || true
  "${P[@]}" rm -f -a -t 0 >/dev/null 2>&1 || true
  "${P[@]}" rmi -a -f >/dev/null 2>&1 || true
  unmount_under "$work"
  rm -rf "$work"
}

# median N CMD…: the median wall time in seconds of CMD over N runs (after 2 warm-ups),
# through hyperfine; needs $work.
median() {
  local n=$1; shift
  hyperfine -N -w 2 -r "$n" --export-json "$work/h.json" "$*" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/h.json"
}

# report NAME BERTH_SECONDS PEER_SECONDS: one line, ratio = peer / berth (> 1: berth faster).
report() {
  python3 -c 'import sys; n,b,p=sys.argv[1],float(sys.argv[2]),float(sys.argv[3]); print(f"{n} berth={b}s peer={p}s ratio={p/b:.2f}")' "$@"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
