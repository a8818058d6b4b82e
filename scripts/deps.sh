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
  xz-utils bzip2                # junk layers under each codec (cve_layers)
  make                          # make install (completions and man pages test)
  sqlite3                       # bench/soak.sh reads the IPAM database
  netavark aardvark-dns iptables passt slirp4netns # container networks (issue 15)
  python3-docker docker-compose # docker-py and docker-compose 1.29 against the API (issue 16)
  python3-venv                  # the kubernetes-validate venv below (issue 17)
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
# cargo-deny for scripts/deny.sh (.ci/run: advisories, licences, bans, sources), from crates.io,
# pinned; built once per machine. Built at opt-level 1 without LTO: it checks one small tree, and
# the optimised build costs CI minutes on two cores.
deny_version=0.20.2
if ! cargo-deny --version 2>/dev/null | grep -qx "cargo-deny $deny_version"; then
  echo "installing: cargo-deny $deny_version"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-deny --locked --version "$deny_version" --quiet
fi

# kube generate's YAML is checked with the strict schema checker `kubernetes-validate` (PyPI; its
# schemas ship in the package, so the tests run it offline). Not in Debian: a venv of its own,
# where tests/integration/kube_generate.rs looks for it.
kv_dir="${BERTH_TEST_TOOLS:-$HOME/.cache/berth-test-tools}/kubernetes-validate"
kv_version=1.37.0
if ! "$kv_dir/bin/pip" show kubernetes-validate 2>/dev/null | grep -qx "Version: $kv_version"; then
  echo "installing: kubernetes-validate $kv_version into $kv_dir"
  python3 -m venv "$kv_dir"
  "$kv_dir/bin/pip" install -q "kubernetes-validate==$kv_version"
fi
