//! `berth build --platform` for another architecture (issue 18 item 3): RUN steps under the
//! qemu user emulator that scripts/deps.sh registers in binfmt_misc (aarch64, flags PF), an
//! arm64 base from Debian's busybox-static:arm64 (also put in place by scripts/deps.sh), the
//! platform in the image config, FROM a manifest list, `run`/`pull --platform` agreeing, and
//! the refusals: no emulator, malformed platforms, a local base of another platform with
//! `--pull=never`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::build::{assert_clean, context};
use crate::registry_harness::{berth_in, Registry};
use crate::run::{busybox, RunEnv};
use crate::util::success_stdout;

/// The arm64 busybox scripts/deps.sh extracts from Debian's busybox-static:arm64.
const ARM64_BUSYBOX: &str = "/usr/local/lib/berth/arm64/busybox";

/// A context with the arm64 busybox and `containerfile`.
fn arm64_context(r: &RunEnv, name: &str, containerfile: &str) -> PathBuf {
    assert!(
        Path::new(ARM64_BUSYBOX).exists(),
        "{ARM64_BUSYBOX} is missing: run scripts/deps.sh"
    );
    let dir = context(r, name, &[("Containerfile", containerfile)]);
    fs::copy(ARM64_BUSYBOX, dir.join("busybox")).unwrap();
    dir
}

const ARM64_BASE: &str = "FROM scratch\n\
    COPY busybox /bin/busybox\n\
    RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
    RUN uname -m > /arch\n\
    ARG TARGETPLATFORM\n\
    ARG TARGETARCH\n\
    ARG BUILDARCH\n\
    RUN echo \"$TARGETPLATFORM $TARGETARCH $BUILDARCH\" > /args\n";

/// Build [`ARM64_BASE`] as `plat-arm64`; its id.
fn build_arm64_base(r: &RunEnv) -> String {
    let ctx = arm64_context(r, "ctx", ARM64_BASE);
    let c = ctx.to_str().unwrap();
    r.ok(&[
        "build",
        "-q",
        "--platform",
        "linux/arm64",
        "-t",
        "plat-arm64",
        c,
    ])
}

fn arch_of(r: &RunEnv, image: &str) -> String {
    let out = r.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}}",
        image,
    ]);
    out.trim().to_string()
}

#[test]
fn an_arm64_build_runs_its_steps_under_emulation() {
    let r = busybox();
    build_arm64_base(&r);
    assert_eq!(arch_of(&r, "plat-arm64"), "linux/arm64");
    // The file RUN wrote is in the image (read by the emulated busybox again).
    assert_eq!(
        r.ok(&["run", "--rm", "plat-arm64", "cat", "/arch"]),
        "aarch64\n"
    );
    // The platform ARGs: TARGET* the build's platform, BUILD* the host's.
    let host_arch = arch_of(&r, "busybox")
        .trim_start_matches("linux/")
        .to_string();
    assert_eq!(
        r.ok(&["run", "--rm", "plat-arm64", "cat", "/args"]),
        format!("linux/arm64 arm64 {host_arch}\n")
    );
    // A build FROM the local arm64 image, with Buildah's --arch/--os: a shell-form RUN
    // (busybox sh re-executing its applets by argv[0] under the emulator).
    let child = context(
        &r,
        "child",
        &[(
            "Containerfile",
            "FROM plat-arm64\nRUN echo \"$(uname -m) $(cat /arch)\" > /both\n",
        )],
    );
    r.ok(&[
        "build",
        "-q",
        "--pull=never",
        "--arch",
        "arm64",
        "--os",
        "linux",
        "-t",
        "plat-arm64-child",
        child.to_str().unwrap(),
    ]);
    assert_eq!(arch_of(&r, "plat-arm64-child"), "linux/arm64");
    assert_eq!(
        r.ok(&["run", "--rm", "plat-arm64-child", "cat", "/both"]),
        "aarch64 aarch64\n"
    );
    // The native build on the same machine is untouched: the host's architecture.
    let native = context(
        &r,
        "native",
        &[("Containerfile", "FROM busybox\nRUN true\n")],
    );
    r.ok(&["build", "-q", "-t", "plat-native", native.to_str().unwrap()]);
    let host = arch_of(&r, "busybox");
    assert_eq!(arch_of(&r, "plat-native"), host);
    assert_ne!(
        host, "linux/arm64",
        "this test needs a host that is not arm64"
    );
    assert_clean(&r);
}

/// Run berth isolated from the host's registry config on `r`'s store; stdout.
fn isolated(r: &RunEnv, args: &[&str]) -> String {
    let out = berth_in(&r.env, &r.runroot, args).output().unwrap();
    success_stdout(args, out)
}

#[test]
fn from_a_manifest_list_picks_the_build_platform_instance() {
    let reg = Registry::start();
    let r = busybox();
    let arm_id = build_arm64_base(&r);
    // A list of the host's busybox and the arm64 image, pushed with every instance.
    let list = reg.image("plat/base:1");
    isolated(&r, &["manifest", "create", "plat-list"]);
    isolated(&r, &["manifest", "add", "plat-list", "busybox"]);
    isolated(&r, &["manifest", "add", "plat-list", "plat-arm64"]);
    isolated(
        &r,
        &[
            "manifest",
            "push",
            "-q",
            "--all",
            "--tls-verify=false",
            "plat-list",
            &format!("docker://{list}"),
        ],
    );
    // Another store (another machine): the arm64 build pulls the arm64 instance.
    let other = busybox();
    let child = context(
        &other,
        "child",
        &[(
            "Containerfile",
            &format!("FROM {list}\nRUN uname -m > /m\n"),
        )],
    );
    let c = child.to_str().unwrap();
    let tls = "--tls-verify=false";
    isolated(
        &other,
        &[
            "build",
            "-q",
            tls,
            "--platform",
            "linux/arm64",
            "-t",
            "plat-a",
            c,
        ],
    );
    assert_eq!(arch_of(&other, "plat-a"), "linux/arm64");
    assert_eq!(
        other.ok(&["run", "--rm", "plat-a", "cat", "/m"]),
        "aarch64\n"
    );
    // The base it pulled is the arm64 instance; `pull --platform` agrees.
    assert_eq!(arch_of(&other, &list), "linux/arm64");
    let pulled = isolated(
        &other,
        &["pull", "-q", tls, "--platform", "linux/arm64", &list],
    );
    assert_eq!(pulled.trim(), arm_id.trim());
    // A native build of the same Containerfile takes the host's instance instead (the local
    // arm64 image of that name is replaced by the host's from the registry).
    isolated(
        &other,
        &["build", "-q", tls, "--pull=always", "-t", "plat-n", c],
    );
    let host = arch_of(&r, "busybox");
    assert_eq!(arch_of(&other, "plat-n"), host);
    assert_eq!(
        other.ok(&["run", "--rm", "plat-n", "cat", "/m"]),
        format!("{}\n", std::env::consts::ARCH)
    );
    // `run --platform` agrees: the local image is the host's now, so the arm64 one is pulled.
    let ran = isolated(
        &other,
        &[
            "run",
            "--rm",
            tls,
            "--platform",
            "linux/arm64",
            &list,
            "uname",
            "-m",
        ],
    );
    assert_eq!(ran, "aarch64\n");
    assert_eq!(arch_of(&other, &list), "linux/arm64");
    assert_clean(&other);
}

#[test]
fn a_build_for_two_platforms_fills_a_manifest_list() {
    let reg = Registry::start();
    let r = busybox();
    let host = arch_of(&r, "busybox");
    assert_eq!(
        host, "linux/amd64",
        "this test builds amd64 and arm64 on an amd64 host"
    );
    let ctx = arm64_context(
        &r,
        "ctx",
        "FROM scratch\n\
         ARG TARGETARCH\n\
         COPY busybox-$TARGETARCH /bin/busybox\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         RUN uname -m > /m\n",
    );
    fs::rename(ctx.join("busybox"), ctx.join("busybox-arm64")).unwrap();
    fs::copy("/bin/busybox", ctx.join("busybox-amd64")).unwrap();
    let c = ctx.to_str().unwrap();
    let both = "linux/amd64,linux/arm64";
    // Built twice: the rebuild (new layers) replaces each platform's instance instead of
    // growing the list.
    for extra in ["--layers", "--no-cache"] {
        let args = [
            "build",
            "-q",
            extra,
            "--platform",
            both,
            "--manifest",
            "plat-ml",
            c,
        ];
        isolated(&r, &args);
        let inspect = isolated(&r, &["manifest", "inspect", "plat-ml"]);
        let list: serde_json::Value = serde_json::from_str(&inspect).unwrap();
        let arches: Vec<&str> = list["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["platform"]["architecture"].as_str().unwrap())
            .collect();
        assert_eq!(arches, ["amd64", "arm64"], "{list}");
    }
    // Pushed with every instance; another machine runs each platform's.
    let target = format!("docker://{}", reg.image("plat/ml:1"));
    let tls = "--tls-verify=false";
    isolated(
        &r,
        &["manifest", "push", "-q", "--all", tls, "plat-ml", &target],
    );
    let other = RunEnv::new();
    let name = reg.image("plat/ml:1");
    for (platform, machine) in [("linux/arm64", "aarch64"), ("linux/amd64", "x86_64")] {
        let out = isolated(
            &other,
            &[
                "run",
                "--rm",
                tls,
                "--platform",
                platform,
                &name,
                "cat",
                "/m",
            ],
        );
        assert_eq!(out, format!("{machine}\n"), "{platform}");
    }
    // Several platforms without a list to gather them are refused.
    let err = r.env.fails(&["build", "--platform", both, c], 125);
    assert!(
        err.contains("more than one platform needs --manifest"),
        "{err}"
    );
    assert_clean(&r);
}

/// `args` fail with exit 125 and one line containing `want`.
fn refused(r: &RunEnv, args: &[&str], want: &str) {
    let err = r.env.fails(args, 125);
    assert!(err.contains(want), "berth {args:?}: want {want:?} in {err}");
}

#[test]
fn a_platform_without_an_emulator_fails_naming_what_to_install() {
    let r = busybox();
    // scripts/deps.sh registers aarch64 and arm only; s390x has no emulator here.
    assert!(
        !Path::new("/proc/sys/fs/binfmt_misc/qemu-s390x").exists(),
        "an s390x emulator is registered on this machine: this test needs one without"
    );
    let ctx = context(&r, "ctx", &[("Containerfile", "FROM busybox\nRUN true\n")]);
    let c = ctx.to_str().unwrap();
    let s390x = ["build", "--platform", "linux/s390x", "-t", "x", c];
    refused(
        &r,
        &s390x,
        "no emulator for s390x is registered in binfmt_misc",
    );
    refused(
        &r,
        &s390x,
        "install qemu-s390x-static from Debian's qemu-user-static",
    );
    refused(
        &r,
        &["build", "--platform", "windows/amd64", c],
        "only linux images",
    );
    // A local base of another platform is not used for an arm64 build.
    let arm = [
        "build",
        "--pull=never",
        "--platform",
        "linux/arm64",
        "-t",
        "x",
        c,
    ];
    refused(&r, &arm, "not the build's platform linux/arm64");
    // `run` and `create` say the same.
    let run = [
        "run",
        "--rm",
        "--pull=never",
        "--arch",
        "arm64",
        "busybox",
        "true",
    ];
    refused(&r, &run, "not the platform linux/arm64 asked for");
    let create = ["create", "--platform", "linux/s390x", "busybox", "true"];
    refused(&r, &create, "qemu-s390x-static");
    // Nothing was tagged.
    let images = r.ok(&["images", "--format", "{{.Repository}}"]);
    assert!(!images.contains("/x"), "{images}");
    assert_clean(&r);
}

#[test]
fn a_malformed_platform_is_refused_in_one_line() {
    let r = busybox();
    let ctx = context(&r, "ctx", &[("Containerfile", "FROM busybox\n")]);
    let c = ctx.to_str().unwrap();
    for bad in ["linux", "linux//v7", "linux/arm/v7/extra", "/arm64", ""] {
        refused(
            &r,
            &["build", "--platform", bad, c],
            "expected os/arch[/variant]",
        );
    }
    refused(
        &r,
        &["build", "--platform", "linux/vax", c],
        "unknown architecture \"vax\"",
    );
    let twice = "linux/arm64,linux/arm64";
    refused(
        &r,
        &["build", "--platform", twice, "--manifest", "m", c],
        "named twice",
    );
    assert_clean(&r);
}

#[test]
fn a_plain_user_builds_for_arm64_in_berth_user_namespace() {
    let env = crate::rootless::user_env();
    let ctx = env.path("home/ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Containerfile"), ARM64_BASE).unwrap();
    fs::copy(ARM64_BUSYBOX, ctx.join("busybox")).unwrap();
    let own = std::process::Command::new("chown")
        .args(["-R", &format!("{}:", crate::rootless::USER)])
        .arg(&ctx)
        .status()
        .unwrap();
    assert!(own.success());
    // berth's namespace has its own /proc (binfmt_misc hidden): the check runs before it
    // is entered, the kernel's registration still runs the steps.
    let out = crate::rootless::as_user(
        &env,
        &format!(
            "set -e; $BERTH build -q --platform linux/arm64 -t rl {c} >/dev/null; \
             $BERTH run --rm rl cat /arch; \
             $BERTH image inspect --format '{{{{.Architecture}}}}' rl; \
             $BERTH build --platform linux/s390x {c} 2>&1 || true",
            c = ctx.display()
        ),
    );
    let text = crate::rootless::text(&out);
    assert!(out.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..2], ["aarch64", "arm64"], "{text}");
    assert!(lines[2].contains("no emulator for s390x"), "{text}");
}
