//! `--format` of the list commands (`images`, `ps`, `volume ls`) against Debian's podman 4.3
//! on the same busybox tarball, side by side on private stores: Go templates with Podman's
//! field names, `table` headers and alignment, `json` records with Podman's keys in Podman's
//! order. Fields that differ between two stores by nature (ids, times, sizes of the imported
//! layer) are left out of the comparisons.

use std::process::Command;

use serde_json::Value;

use crate::run::{busybox, RunEnv};
use crate::util::{require_tool, run_tool};

/// podman on a private store inside the test dir (its default ulimits are above this host
/// kind's hard cap: a private containers.conf without them, as bench/run.sh).
pub(crate) fn podman(r: &RunEnv) -> Command {
    let conf = r.env.path("containers.conf");
    if !conf.exists() {
        std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    }
    let mut cmd = Command::new(require_tool("podman"));
    cmd.env("CONTAINERS_CONF", conf)
        .arg("--root")
        .arg(r.env.path("podman-root"))
        .arg("--runroot")
        .arg(r.env.path("podman-run"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

pub(crate) fn both(r: &RunEnv, args: &[&str]) -> (String, String) {
    (r.ok(args), run_tool(podman(r).args(args)))
}

/// The keys of each JSON record, in order.
fn keys(json: &str) -> Vec<Vec<String>> {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut out = Vec::new();
    // Key order as written (serde_json's maps are sorted): read it from the text.
    for record in v.as_array().unwrap() {
        let mut ks: Vec<(usize, String)> = record
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (json.find(&format!("\"{k}\":")).unwrap(), k.clone()))
            .collect();
        ks.sort();
        out.push(ks.into_iter().map(|(_, k)| k).collect());
    }
    out
}

/// A table's column names (their widths follow the rows).
fn header(table: &str) -> Vec<String> {
    let first = table.lines().next().unwrap_or_default();
    first
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn podman_with_busybox(r: &RunEnv) {
    let tar = r.env.busybox_tar();
    run_tool(podman(r).arg("import").arg(&tar).arg("localhost/busybox"));
    run_tool(podman(r).args(["tag", "localhost/busybox", "localhost/busybox:v2"]));
}

#[test]
fn images_format_as_podman() {
    let r = busybox();
    podman_with_busybox(&r);
    r.ok(&["tag", "busybox", "busybox:v2"]);
    for format in [
        "table {{.Repository}} {{.Tag}} {{.Names}}",
        "table {{.Repository}}\\t{{.Tag}}\\t{{.Dangling}} {{.ReadOnly}} {{.Containers}}",
        "{{.Repository}}:{{.Tag}} {{.Names}} {{.Labels}} {{.RepoTags}} {{.ParentId}}|",
        "{{range .Names}}<{{.}}>{{end}} {{if .Dangling}}D{{else}}N{{end}} {{upper .Tag}}",
        "{{len .Names}} {{index .Names 0}} {{json .Names}} {{join .Names \",\"}}",
    ] {
        let args = ["images", "--format", format];
        let (berth, podman) = both(&r, &args);
        assert_eq!(berth, podman, "{format}");
    }
    // Ages differ between the two imports; the headers (`<no value>` for Podman's methods)
    // do not.
    let format = "table {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}} {{.Digest}}";
    let (berth, podman) = both(&r, &["images", "--format", format]);
    assert_eq!(header(&berth), header(&podman), "{berth}\n{podman}");
    let (berth, podman) = both(&r, &["images", "--noheading", "--format", "table {{.Tag}}"]);
    assert_eq!(berth, podman);
    let (berth, podman) = both(&r, &["images", "--format", "json"]);
    assert_eq!(keys(&berth), keys(&podman), "{berth}\n{podman}");
    let (berth, podman) = both(&r, &["images"]);
    assert_eq!(header(&berth), header(&podman), "{berth}\n{podman}");
    assert_eq!(berth.lines().count(), podman.lines().count());
    // `--no-trunc`: the id with its algorithm.
    let id = r.ok(&["images", "--no-trunc", "--format", "{{.ID}}"]);
    assert!(id.starts_with("sha256:") && id.lines().count() == 2, "{id}");
    // An unknown field fails as Go's template does, nothing half printed.
    let (code, out, err) = r.code(&["images", "--format", "{{.Nope}}"]);
    assert_eq!(code, Some(125));
    assert_eq!(out, "");
    assert!(err.contains("can't evaluate field Nope"), "{err}");
}

#[test]
fn ps_format_as_podman() {
    let r = busybox();
    podman_with_busybox(&r);
    let data = r.env.path("data");
    std::fs::create_dir(&data).unwrap();
    let volume = format!("{}:/data", data.display());
    let create = [
        "create",
        "--name",
        "c1",
        "--label",
        "x=y",
        "-v",
        &volume,
        "--network",
        "host",
        "localhost/busybox",
        "echo",
        "hello",
        "world",
        "this",
        "is",
        "long",
    ];
    both(&r, &create);
    let format = "table {{.Names}} {{.Image}} {{.Command}} {{.Status}} {{.State}} {{.Labels}} \
        {{.Mounts}} {{.Pid}} {{.ExitCode}} {{.Exited}} {{.StartedAt}} {{.ExitedAt}} \
        {{.AutoRemove}} {{.Ports}} {{.Pod}} {{.PodName}} {{.IsInfra}} {{.Namespaces.PIDNS}}";
    let (berth, podman) = both(&r, &["ps", "-a", "--format", format]);
    assert_eq!(berth, podman);
    let (berth, podman) = both(&r, &["ps", "-a", "--format", "{{.Names}} {{.Command}}"]);
    assert_eq!(berth, podman);
    assert_eq!(berth, "c1 echo hello world ...\n");
    let (berth, podman) = both(&r, &["ps", "-a", "--format", "json"]);
    assert_eq!(keys(&berth), keys(&podman), "{berth}\n{podman}");
    let (berth, podman) = both(&r, &["ps", "-a", "--no-trunc", "--format", "{{.Command}}"]);
    assert_eq!(berth, podman);
    // The default table: Podman's columns, in Podman's order.
    let (berth, podman) = both(&r, &["ps", "-a"]);
    assert_eq!(header(&berth), header(&podman), "{berth}\n{podman}");
    // `-q` gives way to a format, as Podman's.
    let out = r.ok(&["ps", "-a", "-q", "--format", "{{.Names}}"]);
    assert_eq!(out, "c1\n");
    run_tool(self::podman(&r).args(["rm", "-a", "-f"]));
}

#[test]
fn volume_ls_format_as_podman() {
    let r = busybox();
    let (berth, podman) = both(&r, &["volume", "ls"]);
    assert_eq!(
        (berth.as_str(), podman.as_str()),
        ("", ""),
        "nothing, not even a header"
    );
    for name in ["v1", "v2"] {
        both(&r, &["volume", "create", name]);
    }
    for args in [
        &["volume", "ls"][..],
        &["volume", "ls", "-q"],
        &["volume", "ls", "--noheading"],
        &["volume", "ls", "--format", "{{.Name}}\\t{{.Driver}}"],
        &[
            "volume",
            "ls",
            "--format",
            "table {{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Options}} {{.UID}} \
             {{.GID}} {{.MountCount}} {{.Anonymous}} {{.Status}} {{.StorageID}} {{.Timeout}}",
        ],
    ] {
        let (berth, podman) = both(&r, args);
        assert_eq!(berth, podman, "{args:?}");
    }
    let mountpoints = r.ok(&["volume", "ls", "--format", "{{.Mountpoint}}"]);
    assert!(
        mountpoints.ends_with("/volumes/v2/_data\n"),
        "{mountpoints}"
    );
    let (berth, podman) = both(&r, &["volume", "ls", "--format", "json"]);
    let podman_keys: Vec<Vec<String>> = keys(&podman)
        .into_iter()
        .map(|ks| ks.into_iter().filter(|k| !k.starts_with("Needs")).collect())
        .collect();
    assert_eq!(keys(&berth), podman_keys, "{berth}\n{podman}");
    let (code, _, err) = r.code(&["volume", "ls", "-q", "--format", "{{.Name}}"]);
    assert_eq!(code, Some(125));
    assert!(
        err.contains("quiet and format flags cannot be used together"),
        "{err}"
    );
}
