#!/usr/bin/env bash
# Quick start, end to end on a fresh Debian machine (as root): install what berth uses, build
# berth, then do berth's main job: build an image from a Containerfile, push it to a registry
# signed with a cosign key, pull it back under a policy that requires that signature, and run
# it as a service with a published port.
#
# Everything is local: the base image is made from Debian's static busybox, the registry is
# Debian's docker-registry on 127.0.0.1, and the only traffic goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
berth=$PWD/target/release/berth

work=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
B=("$berth" --root "$work/store" --runroot "$work/run")
# A second machine's store, fresh: what it pulls must pass the policy.
F=("$berth" --root "$work/fresh" --runroot "$work/fresh-run")
registry_pid=
cleanup() {
  "${B[@]}" rm -f -a >/dev/null 2>&1 || true
  "${F[@]}" rm -f -a >/dev/null 2>&1 || true
  [ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A local registry.
reg_port=$(free_port)
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$reg_port}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$reg_port/v2/" >/dev/null && break
  sleep 0.1
done

# A base image: one static binary plus its applet links.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$work/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
tar -C "$work/rootfs" --numeric-owner -cf "$work/busybox.tar" .

# The application: a page made in a build stage, served by busybox httpd in the final one.
mkdir -p "$work/app"
echo 'hello from a berth-built image' >"$work/app/greeting.txt"
cat >"$work/app/Containerfile" <<'EOF'
FROM busybox AS page
COPY greeting.txt /src/
RUN mkdir /www && { echo '<h1>'; cat /src/greeting.txt; echo '</h1>'; } >/www/index.html

FROM busybox
COPY --from=page /www /www
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
EOF

# Where signatures go (sigstore attachments in the registry), and the policy that requires them.
mkdir -p "$work/registries.d"
echo 'default-docker: {use-sigstore-attachments: true}' >"$work/registries.d/default.yaml"
image=127.0.0.1:$reg_port/demo/web:1
cat >"$work/policy.json" <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"127.0.0.1:$reg_port/demo": [
   {"type": "sigstoreSigned", "keyPath": "$work/cosign.pub"}]}}}
EOF
web_port=$(free_port)

set -x
"${B[@]}" import "$work/busybox.tar" busybox
"${B[@]}" build -t "$image" "$work/app"
echo quickstart >"$work/passphrase"
"$berth" generate-sigstore-key --output-prefix "$work/cosign" --passphrase-file "$work/passphrase"
"${B[@]}" push --tls-verify=false --registries.d "$work/registries.d" \
  --sign-by-sigstore-private-key "$work/cosign.private" --sign-passphrase-file "$work/passphrase" \
  "$image"
"${F[@]}" pull --tls-verify=false --registries.d "$work/registries.d" \
  --signature-policy "$work/policy.json" "$image"
# An image pushed without a signature is refused by the same policy.
unsigned=127.0.0.1:$reg_port/demo/base:1
"${B[@]}" push --tls-verify=false busybox "$unsigned"
if "${F[@]}" pull --tls-verify=false --registries.d "$work/registries.d" \
  --signature-policy "$work/policy.json" "$unsigned"; then
  echo "quickstart: the policy let an unsigned image in" >&2
  exit 1
fi
"${F[@]}" images
"${F[@]}" run -d --name web -p "127.0.0.1:$web_port:80" "$image"
"${F[@]}" port web
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$web_port/" && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$web_port/" | grep -q 'hello from a berth-built image'
"${F[@]}" ps
# busybox httpd as PID 1 ignores SIGTERM: stop sends SIGKILL after one second.
"${F[@]}" stop -t 1 web
"${F[@]}" rm web
"${F[@]}" system check
