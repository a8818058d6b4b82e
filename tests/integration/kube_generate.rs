//! `kube generate` (issue 17), as root: for a pod with two containers and a published port,
//! and for a lone container, berth's YAML
//! - passes the strict Kubernetes schema check of `kubernetes-validate` (PyPI, its schemas
//!   offline: run in a network namespace of its own, with no network at all),
//! - is field by field what Debian's `podman kube generate` (Podman 4.3, on a private root,
//!   `list_formats::podman`)
//!   writes for the same pod or container, but for what differs by nature (times, ids, the
//!   random node ports) and the `tmpfs` hostPath volumes Podman lists for `--read-only`
//!   (berth writes none: a cluster would make a directory named `tmpfs`),
//! - is accepted by `podman kube play` (on the same private root; what it made is removed).
//!
//! Bad input: a name that is nothing, a member of a pod given alone, a pod with only its
//! infra container.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::list_formats::{both, podman};
use crate::pods::Pods;
use crate::run::{busybox, RunEnv};
use crate::run_network::{free_port, unique, wired};
use crate::util::{require_tool, run_tool};

/// Removes what podman made on its private root when dropped (pods, containers, volumes).
struct PodmanCleanup<'a>(&'a RunEnv);

impl Drop for PodmanCleanup<'_> {
    fn drop(&mut self) {
        let _ = podman(self.0).args(["pod", "rm", "-f", "-a"]).output();
        let _ = podman(self.0).args(["rm", "-f", "-a"]).output();
        let _ = podman(self.0).args(["volume", "rm", "-f", "-a"]).output();
    }
}

/// The `kubernetes-validate` scripts/deps.sh installs into a venv.
fn kubernetes_validate() -> PathBuf {
    let base = std::env::var_os("BERTH_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/berth-test-tools")
        });
    let exe = base.join("kubernetes-validate/bin/kubernetes-validate");
    assert!(
        exe.exists(),
        "{} is not installed: run scripts/deps.sh",
        exe.display()
    );
    exe
}

/// `kubernetes-validate --strict FILE` in a network namespace with no network: its schemas
/// must be the ones it ships.
fn assert_validates(file: &Path) {
    let out = Command::new(require_tool("unshare"))
        .arg("-n")
        .arg(kubernetes_validate())
        .args(["--strict", "--no-warn"])
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubernetes-validate: {text}");
    assert!(
        !text.contains("ERROR") && text.contains("passed"),
        "kubernetes-validate: {text}"
    );
}

/// The documents of a YAML stream, as JSON values.
fn documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// A document with what differs by nature taken out: times, the pod id in annotations, node
/// ports; Podman's `tmpfs` hostPath volumes; volumes sorted by name (Podman writes them in
/// its map's random order), ports sorted (Podman sorts a container's, berth keeps the order
/// given).
fn normalized(mut doc: Value) -> Value {
    let meta = &mut doc["metadata"];
    meta.as_object_mut().unwrap().remove("creationTimestamp");
    if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        a.retain(|k, _| !k.starts_with("io.kubernetes.cri-o.SandboxID/"));
    }
    if let Some(ports) = doc["spec"].get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut() {
            p.as_object_mut().unwrap().remove("nodePort");
        }
        ports.sort_by_key(Value::to_string);
    }
    let spec = doc["spec"].as_object_mut().unwrap();
    let tmpfs = |v: &Value| {
        v["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("tmpfs-host-"))
    };
    if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        vols.retain(|v| !tmpfs(v));
        vols.sort_by_key(|v| v["name"].as_str().unwrap_or_default().to_string());
    }
    if spec
        .get("volumes")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        spec.remove("volumes");
    }
    if let Some(ctrs) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        for c in ctrs {
            let c = c.as_object_mut().unwrap();
            if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                ports.sort_by_key(Value::to_string);
            }
            // Podman 4.3 builds the environment from a Go map: its order changes from run
            // to run (seen: FLAG before FOO, then after), so names are compared as a set.
            if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
                env.sort_by_key(|e| e["name"].as_str().unwrap_or_default().to_string());
            }
            if let Some(m) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                m.retain(|v| !tmpfs(v));
            }
            if c.get("volumeMounts")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                c.remove("volumeMounts");
            }
        }
    }
    doc
}

/// berth's and podman's YAML for the same objects: same documents but for [`normalized`].
fn assert_same_documents(ours: &str, theirs: &str) {
    let header = "# Save the output of this file and use kubectl create -f to import\n# it \
                  into Kubernetes.\n#\n# Created with berth-";
    assert!(ours.starts_with(header), "{ours}");
    let ours: Vec<Value> = documents(ours).into_iter().map(normalized).collect();
    let theirs: Vec<Value> = documents(theirs).into_iter().map(normalized).collect();
    assert_eq!(
        serde_json::to_string_pretty(&ours).unwrap(),
        serde_json::to_string_pretty(&theirs).unwrap()
    );
}

/// A busybox store, and podman's private root with the same image.
fn busybox_both() -> RunEnv {
    let r = busybox();
    run_tool(
        podman(&r)
            .arg("import")
            .arg(r.env.busybox_tar())
            .arg("localhost/busybox"),
    );
    r
}

#[test]
fn pod_yaml_validates_matches_podman_and_podman_plays_it() {
    if !wired() {
        return;
    }
    let r = busybox_both();
    let _pods = Pods(&r);
    let _podman = PodmanCleanup(&r);
    let pod = unique("kgen-pod");
    let (web, client) = (format!("{pod}-web"), format!("{pod}-client"));
    let volume = unique("kgen-vol");
    let publish = format!("127.0.0.1:{}:80", free_port());
    let data = r.env.path("data");
    std::fs::create_dir_all(&data).unwrap();
    let bind = format!("{}:/data:ro", data.display());
    let named = format!("{volume}:/vol");
    both(&r, &["pod", "create", "--name", &pod, "-p", &publish]);
    both(
        &r,
        &[
            "create",
            "--pod",
            &pod,
            "--name",
            &web,
            "-e",
            "FOO=bar",
            "-e",
            "FLAG=yes",
            "-v",
            &bind,
            "-v",
            &named,
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "CHOWN",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--annotation",
            "note=y",
            "-w",
            "/bin",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
        ],
    );
    both(
        &r,
        &[
            "create",
            "--pod",
            &pod,
            "--name",
            &client,
            "--user",
            "1000",
            "--read-only",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    let file = r.env.path("pod.yaml");
    r.ok(&[
        "kube",
        "generate",
        "--service",
        "-f",
        file.to_str().unwrap(),
        &pod,
    ]);
    let ours = std::fs::read_to_string(&file).unwrap();
    assert_validates(&file);
    // `generate kube` is the same command.
    let again = r.ok(&["generate", "kube", &pod]);
    assert!(again.contains(&format!("name: {web}")), "{again}");
    let theirs = run_tool(podman(&r).args(["kube", "generate", "--service", &pod]));
    assert_same_documents(&ours, &theirs);
    let docs = documents(&ours);
    assert_eq!(docs[0]["kind"], "Service", "{ours}");
    assert_eq!(docs[1]["kind"], "Pod", "{ours}");
    assert_eq!(docs[1]["spec"]["containers"][0]["env"][1]["value"], "yes");

    // Podman plays berth's YAML (its own objects go first: the names are taken).
    run_tool(podman(&r).args(["pod", "rm", "-f", &pod]));
    run_tool(podman(&r).args(["volume", "rm", "-f", &volume]));
    run_tool(
        podman(&r)
            .args(["kube", "play", "--start=false"])
            .arg(&file),
    );
    let env = run_tool(podman(&r).args([
        "inspect",
        "--format",
        "{{.Config.Env}}",
        &format!("{pod}-{web}"),
    ]));
    assert!(env.contains("FOO=bar") && env.contains("FLAG=yes"), "{env}");
}

#[test]
fn lone_container_yaml_validates_matches_podman_and_podman_plays_it() {
    if !wired() {
        return;
    }
    let r = busybox_both();
    let _podman = PodmanCleanup(&r);
    let c = unique("kgen-lone");
    let tcp = format!("127.0.0.1:{}:8080", free_port());
    let udp = format!("{}:53/udp", free_port());
    both(
        &r,
        &[
            "create",
            "--name",
            &c,
            "-p",
            &tcp,
            "-p",
            &udp,
            "--privileged",
            "--restart",
            "always",
            "-e",
            "A=1",
            "--entrypoint",
            "/bin/sh",
            "busybox",
            "-c",
            "sleep 1000",
        ],
    );
    let file = r.env.path("lone.yaml");
    let ours = r.ok(&["kube", "generate", "--service", &c]);
    std::fs::write(&file, &ours).unwrap();
    assert_validates(&file);
    let theirs = run_tool(podman(&r).args(["kube", "generate", "--service", &c]));
    assert_same_documents(&ours, &theirs);
    let docs = documents(&ours);
    assert_eq!(docs[1]["metadata"]["name"], format!("{c}-pod"));
    assert_eq!(docs[1]["spec"]["containers"][0]["command"][0], "/bin/sh");
    assert_eq!(
        docs[1]["spec"]["containers"][0]["securityContext"]["privileged"],
        true
    );

    run_tool(podman(&r).args(["rm", "-f", &c]));
    run_tool(
        podman(&r)
            .args(["kube", "play", "--start=false"])
            .arg(&file),
    );
}

#[test]
fn bad_names_are_refused_as_podman() {
    if !wired() {
        return;
    }
    let r = busybox();
    let _pods = Pods(&r);
    let (code, _, err) = r.code(&["kube", "generate", "kgen-nothing"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("name or ID \"kgen-nothing\" not found"),
        "{err}"
    );
    let pod = unique("kgen-bad");
    let id = r.ok(&["pod", "create", "--name", &pod]).trim().to_string();
    let (code, _, err) = r.code(&["kube", "generate", &pod]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains(&format!("pod {id} only has an infra container")),
        "{err}"
    );
    let member = format!("{pod}-m");
    r.ok(&[
        "create", "--pod", &pod, "--name", &member, "busybox", "true",
    ]);
    let (code, _, err) = r.code(&["kube", "generate", &member]);
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains(&format!(
            "is associated with pod {id}: use generate on the pod itself"
        )),
        "{err}"
    );
}
