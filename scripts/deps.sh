#!/usr/bin/env bash
# Install the Debian packages berth's tests, examples and benches use. Idempotent: apt-get
# runs only when something is missing.
set -euo pipefail
packages=(
  busybox-static   # base images for tests and the example
  skopeo podman buildah umoci   # interop peers and bench comparisons
  crun runc uidmap catatonit    # runtimes, the --init process, the pods' infra image
  docker-registry apache2-utils # local registry (registry issue)
  libseccomp-dev pkg-config openssl gnupg
  libssl-dev dpkg-dev           # the sigstore-rs oracle (openssl-sys); dpkg-deb for trixie skopeo
  python3-nacl                  # libsodium peer for the cosign key format test
  pigz zstd hyperfine time curl # bench peers and timing
  make                          # make install (completions and man pages test)
  sqlite3                       # bench/soak.sh reads the IPAM database
  netavark aardvark-dns iptables passt slirp4netns # container networks (issue 15)
  python3-docker docker-compose # docker-py and docker-compose 1.29 against the API (issue 16)
)
# The docker CLI drives berth's REST API in the tests (issue 16): the one on the machine
# (/usr/local/bin/docker), else Debian's docker.io, which contains one.
[ -x /usr/local/bin/docker ] || packages+=(docker.io)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
