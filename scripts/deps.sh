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
# (grep without -q: with pipefail, -q's early exit would fail pip's write and so the test.)
if ! "$kv_dir/bin/pip" show kubernetes-validate 2>/dev/null | grep -x "Version: $kv_version" >/dev/null; then
  echo "installing: kubernetes-validate $kv_version into $kv_dir"
  python3 -m venv "$kv_dir"
  "$kv_dir/bin/pip" install -q "kubernetes-validate==$kv_version"
fi
# Builds for other platforms (issue 18 item 3): qemu user emulation through binfmt_misc, and an
# arm64 base. Only the emulator binaries are taken from Debian's qemu-user-static (the whole
# package is hundreds of MiB) and registered with the fix-binary flag F (the kernel opens the
# emulator once, so it works inside any container's mount namespace) and P; busybox for arm64 comes
# from Debian's busybox-static:arm64. Idempotent: each piece only when it is missing.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
emu_dir=/usr/local/lib/berth
want_deb() { # PACKAGE[:ARCH] FILE-IN-DEB DEST: copy one file out of a downloaded .deb
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "$1" >/dev/null 2>&1) || {
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    (cd "$tmp" && apt-get download -qq "$1" >/dev/null)
  }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  $sudo install -D -m 0755 "$tmp/x/$2" "$3"
  rm -rf "$tmp"
}
for arch in aarch64 arm; do
  [ -x "$emu_dir/qemu-$arch-static" ] ||
    want_deb qemu-user-static "usr/bin/qemu-$arch-static" "$emu_dir/qemu-$arch-static"
done
if [ ! -x "$emu_dir/arm64/busybox" ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || {
    $sudo dpkg --add-architecture arm64
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  }
  want_deb busybox-static:arm64 bin/busybox "$emu_dir/arm64/busybox"
fi
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || $sudo mount -t binfmt_misc binfmt_misc "$binfmt"
elf_mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
declare -A elf_magic=(
  [aarch64]='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
  [arm]='\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00'
)
for arch in aarch64 arm; do
  entry="$binfmt/qemu-$arch"
  # An older registration of berth's own without P is replaced; another one for the
  # architecture (binfmt-support's, systemd's) serves as well.
  if [ -e "$entry" ] && grep -qx "interpreter $emu_dir/qemu-$arch-static" "$entry" &&
    ! grep -q '^flags: .*P' "$entry"; then
    echo -1 | $sudo tee "$entry" >/dev/null
  fi
  [ -e "$entry" ] && continue
  # P keeps argv[0] (busybox's applets re-exec themselves by it), F opens the emulator now.
  printf '%s' ":qemu-$arch:M::${elf_magic[$arch]}:$elf_mask:$emu_dir/qemu-$arch-static:PF" |
    $sudo tee "$binfmt/register" >/dev/null
done
