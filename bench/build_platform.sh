#!/usr/bin/env bash
# An arm64 build of 3 RUN steps under the same qemu-aarch64 emulator (binfmt_misc, scripts/deps.sh):
# `berth build --platform linux/arm64` against `buildah bud --platform linux/arm64` (issue 18's
# goal: ≤ 1/2 of Buildah's time), each with --no-cache from scratch plus the arm64 busybox.
# By hand as root (never in CI): bash bench/build_platform.sh. Prints NAME berth=… peer=…
# ratio=… (Buildah's time over berth's: > 1 means berth is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
bash scripts/deps.sh
[ -n "${BERTH_BIN:-}" ] || cargo build --release --quiet
berth=${BERTH_BIN:-$PWD/target/release/berth}  # BERTH_BIN: another build, to compare

berth_and_podman plat
BU=(buildah --root "$work/podman" --runroot "$work/podman-run")
mkdir -p "$work/ctx"
cp /usr/local/lib/berth/arm64/busybox "$work/ctx/busybox"
cat >"$work/ctx/Containerfile" <<'CF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN for i in 1 2 3 4 5; do echo $i >> /n; done
RUN uname -m > /arch
CF
b=$(median 5 "${B[@]}" build -q --no-cache --network host --platform linux/arm64 -t p "$work/ctx")
p=$(median 5 "${BU[@]}" bud -q --no-cache --network host --platform linux/arm64 -t p "$work/ctx")
report build_arm64_3_runs "$b" "$p"
