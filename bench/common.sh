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
