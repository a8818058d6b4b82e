//! The layer cache shared through a registry (`build --cache-to`, `--cache-from`): two stores
//! stand for two CI machines and one local `docker-registry` on 127.0.0.1. The second store
//! builds the same Containerfile without running a RUN step (each RUN writes a fresh random
//! uuid, so a step that ran would change the image id), a forged entry is refused and its step
//! runs, and an unreachable cache repository is said once while the build goes on. Without
//! `--timestamp` the metadata steps' times come from the registry too: the same image id. The
//! same holds as a plain user.

use std::process::Command;

use crate::build::context;
use crate::registry_harness::{free_port, isolate, Registry};
use crate::run::RunEnv;
use crate::util::{require_tool, success_stdout};

/// RUN steps whose output differs at every run.
const CONTAINERFILE: &str = "FROM BASE\n\
     COPY f /f\n\
     RUN cat /proc/sys/kernel/random/uuid > /marker\n\
     ENV X=1\n\
     RUN cat /proc/sys/kernel/random/uuid > /marker2\n";

/// `berth build --timestamp 0` on `r`'s store, isolated from the host's registry config;
/// returns stdout.
fn build(r: &RunEnv, extra: &[&str], ctx: &str) -> String {
    let mut all = vec!["--timestamp", "0"];
    all.extend_from_slice(extra);
    build_at_any_time(r, &all, ctx)
}

/// As [`build`], with the clock's times.
fn build_at_any_time(r: &RunEnv, extra: &[&str], ctx: &str) -> String {
    let mut args = vec!["build", "--tls-verify=false"];
    args.extend_from_slice(extra);
    args.push(ctx);
    let mut cmd = r.cmd(&args);
    isolate(&r.env, &mut cmd);
    success_stdout(&args, cmd.output().expect("spawn berth"))
}

/// The last line of a build's stdout: the image id.
fn image_id(out: &str) -> String {
    out.trim().lines().last().unwrap_or_default().to_string()
}

/// A store with the Containerfile's context, its FROM naming `base` in the registry.
fn store_with_context(base: &str) -> (RunEnv, String) {
    let r = RunEnv::new();
    let ctx = context(
        &r,
        "ctx",
        &[
            ("f", "from the context\n"),
            ("Containerfile", &CONTAINERFILE.replace("BASE", base)),
        ],
    );
    (r, ctx.to_str().unwrap().to_string())
}

fn curl(args: &[&str]) -> String {
    let out = Command::new(require_tool("curl"))
        .args(["-sS", "--fail"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The cache repository's manifests by tag.
fn entries(reg: &Registry) -> Vec<(String, serde_json::Value)> {
    let tags: serde_json::Value =
        serde_json::from_str(&curl(&[&format!("http://{}/v2/cache/tags/list", reg.addr)])).unwrap();
    tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let tag = t.as_str().unwrap().to_string();
            let url = format!("http://{}/v2/cache/manifests/{tag}", reg.addr);
            let accept = format!("Accept: {OCI_MANIFEST}");
            let m = serde_json::from_str(&curl(&["-H", &accept, &url])).unwrap();
            (tag, m)
        })
        .collect()
}

#[test]
fn a_second_store_builds_from_the_registry_cache_without_running_a_step() {
    let reg = Registry::start();
    let base = reg.image("base");
    let cache = reg.image("cache");
    // The base image, in the registry for both stores.
    let (one, ctx1) = store_with_context(&base);
    one.env.import_busybox("busybox");
    let mut push = one.cmd(&["push", "-q", "--tls-verify=false", "busybox", &base]);
    isolate(&one.env, &mut push);
    success_stdout(&["push"], push.output().unwrap());

    let out1 = build(&one, &["--cache-to", &cache, "-t", "one"], &ctx1);
    // COPY and the two RUNs made a layer each; each was pushed under its key.
    assert_eq!(
        out1.matches("--> Pushing cache ").count(),
        3,
        "pushes expected: {out1}"
    );
    let id1 = image_id(&out1);
    let tags = entries(&reg);
    assert_eq!(tags.len(), 3, "{tags:?}");
    for (tag, _) in &tags {
        assert!(
            tag.len() == 64 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
            "tags are step keys: {tag}"
        );
    }

    // The second machine: an unreachable repository first (said once), then the cache.
    let (two, ctx2) = store_with_context(&base);
    let down = format!("127.0.0.1:{}/cache", free_port());
    let out2 = build(
        &two,
        &["--cache-from", &down, "--cache-from", &cache, "-t", "two"],
        &ctx2,
    );
    assert_eq!(
        out2.matches("unreachable").count(),
        1,
        "one line for the unreachable repository: {out2}"
    );
    assert_eq!(
        out2.matches("--> Cache pulled from remote ").count(),
        3,
        "every layer step from the cache: {out2}"
    );
    assert_eq!(
        image_id(&out2),
        id1,
        "a RUN step ran (its uuid changed the image), or the image differs: {out2}"
    );
    // Cache images pulled are not left behind as images of the second store.
    let images = two.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(!images.contains("/cache"), "{images}");
    assert!(!out2.contains("tagged 127.0.0.1"), "{out2}");
    // A rebuild in the second store hits its own cache now.
    let again = build(&two, &["-t", "two"], &ctx2);
    assert_eq!(image_id(&again), id1);
    assert!(!again.contains("Cache pulled"), "{again}");

    // A forged entry: the first RUN's tag now names the COPY step's layer blob (whose content
    // does not hash to the diff_id its config claims). Refused; the step runs.
    let by_layers = |n: usize| {
        tags.iter()
            .find(|(_, m)| m["layers"].as_array().unwrap().len() == n)
            .cloned()
            .unwrap()
    };
    let (_, copy) = by_layers(2);
    let (run_tag, mut run) = by_layers(3);
    run["layers"][2] = copy["layers"][1].clone();
    let body = serde_json::to_string(&run).unwrap();
    curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Content-Type: {OCI_MANIFEST}"),
        "--data-binary",
        &body,
        &format!("http://{}/v2/cache/manifests/{run_tag}", reg.addr),
    ]);
    let (three, ctx3) = store_with_context(&base);
    let out3 = build(&three, &["--cache-from", &cache, "-t", "three"], &ctx3);
    let refused: Vec<&str> = out3.lines().filter(|l| l.contains("refused")).collect();
    assert_eq!(refused.len(), 1, "{out3}");
    assert!(refused[0].contains(&run_tag), "{out3}");
    assert_eq!(
        out3.matches("--> Cache pulled from remote ").count(),
        1,
        "only the COPY step from the cache: {out3}"
    );
    assert_ne!(image_id(&out3), id1, "the forged step ran: {out3}");
    let marker = |r: &RunEnv, image: &str| r.ok(&["run", "--rm", image, "cat", "/marker"]);
    assert_ne!(marker(&three, "three"), marker(&one, "one"));
}

#[test]
fn without_timestamp_the_metadata_steps_times_come_from_the_registry_too() {
    let reg = Registry::start();
    let base = reg.image("base");
    let cache = reg.image("cache");
    let (one, ctx1) = store_with_context(&base);
    one.env.import_busybox("busybox");
    let mut push = one.cmd(&["push", "-q", "--tls-verify=false", "busybox", &base]);
    isolate(&one.env, &mut push);
    success_stdout(&["push"], push.output().unwrap());
    let out1 = build_at_any_time(&one, &["--cache-to", &cache], &ctx1);
    // The ENV step too: its created time is its result.
    assert_eq!(out1.matches("--> Pushing cache ").count(), 4, "{out1}");
    // Times in the history are at least a second apart from the first build's clock reading.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (two, ctx2) = store_with_context(&base);
    let out2 = build_at_any_time(&two, &["--cache-from", &cache], &ctx2);
    assert_eq!(
        out2.matches("--> Cache pulled from remote ").count(),
        4,
        "{out2}"
    );
    assert_eq!(image_id(&out2), image_id(&out1), "{out2}");
}

#[test]
fn as_a_plain_user_too() {
    use crate::rootless::{as_user, text, user_env};
    let env = user_env();
    let reg = Registry::start();
    let tar = env.busybox_tar();
    let ctx = env.path("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("f"), "f\n").unwrap();
    let base = reg.image("base");
    std::fs::write(
        ctx.join("Containerfile"),
        CONTAINERFILE.replace("BASE", &base),
    )
    .unwrap();
    let out = as_user(
        &env,
        &format!(
            r#"set -e
$BERTH import {tar} bb >/dev/null
$BERTH push -q --tls-verify=false bb {base}
b="build -q --tls-verify=false --timestamp 0"
one=$($BERTH $b --cache-to {cache} {ctx})
two=$($BERTH --root $HOME/two $b --cache-from {cache} {ctx})
[ "$one" = "$two" ] || {{ echo "ids differ: $one $two"; exit 9; }}
$BERTH --root $HOME/three build --progress=json --tls-verify=false --timestamp 0 \
  --cache-from {cache} {ctx} | grep -c '"event":"cached"'
"#,
            tar = tar.display(),
            cache = reg.image("cache"),
            ctx = ctx.display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    // COPY and the two RUNs from the registry (with --timestamp, ENV needs no cache).
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3",
        "{}",
        text(&out)
    );
}
