//! `kube play` against Debian's podman 4.3 on private stores, the same busybox tarball and the
//! same file: the report's shape, the pods' and containers' names, what the containers see
//! (env and files from a ConfigMap), `kube down`'s report, and the same words for a file whose
//! pods are gone, a taken pod name and a file of ConfigMaps only. Then berth plays the YAML
//! `podman kube generate` writes for a pod. Both on `--network none`: no traffic at all.

use std::process::{Command, Output};

use crate::list_formats::{podman, podman_with_busybox};
use crate::run::{busybox, RunEnv};
use crate::run_network::{unique, wired};
use crate::util::run_tool;

/// A command that ends on SIGTERM (a shell as pid 1 ignores it without a trap).
const STOPPABLE: &str = "trap 'exit 0' TERM; while :; do /bin/sleep 0.1; done";

/// Removes the pods of both stores when dropped (podman's conmon and catatonit included).
struct Pods<'a>(&'a RunEnv);

impl Drop for Pods<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["pod", "rm", "-f", "-a"]);
        let _ = podman(self.0).args(["pod", "rm", "-f", "-a"]).output();
        let _ = podman(self.0).args(["volume", "rm", "-f", "-a"]).output();
    }
}

fn text(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `Error: …` line of a failed command.
fn error_line(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or_else(|| panic!("no Error line in {stderr}"))
        .to_string()
}

/// The report with every id replaced by `ID`.
fn shape(report: &str) -> String {
    report
        .lines()
        .map(
            |l| match l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()) {
                true => "ID",
                false => l,
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn names(cmd: &mut Command) -> Vec<String> {
    let mut v: Vec<String> = run_tool(cmd)
        .lines()
        .filter(|l| !l.ends_with("-infra"))
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn kube_play_and_down_as_podman_plays_them() {
    if !wired() {
        return;
    }
    let r = busybox();
    podman_with_busybox(&r);
    let _pods = Pods(&r);
    let (cm, pod) = (unique("kpp-cm"), unique("kpp-pod"));
    let yaml = format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {cm}
data:
  GREETING: hello
  motd: from-the-configmap
---
apiVersion: v1
kind: Pod
metadata:
  name: {pod}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: localhost/busybox
    imagePullPolicy: IfNotPresent
    command: [/bin/sh, -c, "trap 'exit 0' TERM; while :; do /bin/sleep 0.1; done"]
    workingDir: /tmp
    env:
    - name: GREETING
      valueFrom:
        configMapKeyRef: {{name: {cm}, key: GREETING}}
    volumeMounts:
    - {{name: cfg, mountPath: /cfg}}
  volumes:
  - name: cfg
    configMap: {{name: {cm}}}
"#
    );
    let file = r.env.path("pod.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let file = file.to_str().unwrap();
    let play = ["kube", "play", "--network", "none", file];
    let berth = r.ok(&play);
    let peer = run_tool(podman(&r).args(play));
    assert_eq!(shape(&berth), shape(&peer), "{berth}\n{peer}");
    let pods = |c: &mut Command| names(c.args(["pod", "ps", "--format", "{{.Name}}"]));
    assert_eq!(pods(&mut r.cmd(&[])), pods(&mut podman(&r)));
    let ctrs = |c: &mut Command| names(c.args(["ps", "-a", "--format", "{{.Names}}"]));
    assert_eq!(ctrs(&mut r.cmd(&[])), [format!("{pod}-main")]);
    assert_eq!(ctrs(&mut r.cmd(&[])), ctrs(&mut podman(&r)));
    let script = [
        "/bin/sh",
        "-c",
        "echo $GREETING; pwd; cat /cfg/motd; ls /cfg",
    ];
    let c = format!("{pod}-main");
    let mut exec = vec!["exec", c.as_str()];
    exec.extend(script);
    assert_eq!(r.ok(&exec), run_tool(podman(&r).args(&exec)));

    // The same words for a taken pod name.
    let (code, _, err) = r.code(&play);
    let (pcode, _, perr) = text(&podman(&r).args(play).output().unwrap());
    assert_eq!((code, error_line(&err)), (pcode, error_line(&perr)));

    let down = ["kube", "down", file];
    let berth = r.ok(&down);
    let peer = run_tool(podman(&r).args(down));
    assert_eq!(shape(&berth), shape(&peer), "{berth}\n{peer}");
    // The ConfigMap's volume stays in both.
    let vols = |c: &mut Command| names(c.args(["volume", "ls", "-q"]));
    assert_eq!(vols(&mut r.cmd(&[])), vols(&mut podman(&r)));
    // The file's pods are gone: the same words and exit code.
    let (code, _, err) = r.code(&down);
    let (pcode, _, perr) = text(&podman(&r).args(down).output().unwrap());
    assert_eq!((code, error_line(&err)), (pcode, error_line(&perr)));
    // ConfigMaps alone make nothing.
    let only = r.env.path("only.yaml");
    std::fs::write(&only, yaml.split("---").next().unwrap()).unwrap();
    let args = ["kube", "play", only.to_str().unwrap()];
    let (code, _, err) = r.code(&args);
    let (pcode, _, perr) = text(&podman(&r).args(args).output().unwrap());
    assert_eq!((code, error_line(&err)), (pcode, error_line(&perr)));
    let _ = r.run(&["volume", "rm", "-f", &cm]);
    r.assert_no_leftovers();
}

#[test]
fn berth_plays_what_podman_kube_generate_writes() {
    if !wired() {
        return;
    }
    let r = busybox();
    podman_with_busybox(&r);
    let _pods = Pods(&r);
    let pod = unique("kpg-pod");
    run_tool(podman(&r).args(["pod", "create", "--network", "none", "--name", &pod]));
    run_tool(podman(&r).args([
        "create",
        "--pod",
        &pod,
        "--name",
        "web",
        "-e",
        "FOO=bar",
        "-w",
        "/tmp",
        "--cap-add",
        "NET_ADMIN",
        "localhost/busybox",
        "/bin/sh",
        "-c",
        STOPPABLE,
    ]));
    let yaml = run_tool(podman(&r).args(["kube", "generate", &pod]));
    run_tool(podman(&r).args(["pod", "rm", "-f", &pod]));
    let file = r.env.path("generated.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let (code, out, err) = r.code(&["kube", "play", "--network", "none", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{yaml}\n{out}{err}");
    // Podman's container name in its pod is `<pod>-<container>` again.
    let c = format!("{pod}-web");
    let seen = r.ok(&["exec", &c, "/bin/sh", "-c", "echo $FOO; pwd"]);
    assert_eq!(seen, "bar\n/tmp\n", "{yaml}");
    let caps = r.ok(&["inspect", "--format", "{{.HostConfig.CapAdd}}", &c]);
    assert!(caps.contains("NET_ADMIN"), "{caps}\n{yaml}");
    r.ok(&["kube", "down", file.to_str().unwrap()]);
    r.assert_no_leftovers();
}
