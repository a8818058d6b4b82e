//! `kube play` and `kube down` (issue 17), as root with the real netavark: a Deployment of 2
//! replicas (busybox httpd, a ConfigMap as env and as a volume, a PersistentVolumeClaim, an
//! init container) and a Pod publishing a hostPort on 127.0.0.1: play, curl, the env and the
//! ConfigMap's file inside each replica, down, nothing left (containers, pods, namespaces,
//! rules; the claim's and the ConfigMap's volumes stay as Podman 4.3 leaves them, `--force`
//! removes them). Bad input: a document bomb, YAML that is not Kubernetes, an unknown kind, a
//! ConfigMap key naming `../`, a pod that cannot be made (the file's other pods undone), a pod
//! name that exists, `kube down` of a file whose pods are gone. Traffic only to 127.0.0.1 and inside the pods' own namespaces.

use std::path::Path;

use crate::run::{busybox, RunEnv};
use crate::run_network::{
    assert_no_network_leak, exec_until, fetch, free_port, host_says, unique, wired, TestNetwork,
};

/// Removes every pod of the store (forced) and the test's volumes when dropped.
struct Cleanup<'a>(&'a RunEnv, Vec<String>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["pod", "rm", "-f", "-a"]);
        for v in &self.1 {
            let _ = self.0.run(&["volume", "rm", "-f", v]);
        }
    }
}

fn write(r: &RunEnv, name: &str, yaml: &str) -> String {
    let path = r.env.path(name);
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

fn web_yaml(cm: &str, pvc: &str, dep: &str, front: &str, port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {cm}
data:
  GREETING: hello-from-the-configmap
  index.html: served-from-the-configmap
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {pvc}
spec:
  accessModes: [ReadWriteOnce]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {dep}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      initContainers:
      - name: prepare
        image: busybox
        command: [sh, -c, "echo prepared > /data/init-done"]
        volumeMounts:
        - {{name: data, mountPath: /data}}
      containers:
      - name: httpd
        image: busybox
        command: [httpd, -f, -p, "8080", -h, /www]
        env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {{name: {cm}, key: GREETING}}
        - {{name: PLAIN, value: plain-value}}
        readinessProbe:
          exec: {{command: ["true"]}}
        volumeMounts:
        - {{name: site, mountPath: /www, readOnly: true}}
        - {{name: data, mountPath: /data}}
      volumes:
      - name: site
        configMap: {{name: {cm}}}
      - name: data
        persistentVolumeClaim: {{claimName: {pvc}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: {front}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: busybox
    args: [httpd, -f, -p, "80", -h, /www]
    envFrom:
    - configMapRef: {{name: {cm}}}
    ports:
    - {{containerPort: 80, hostPort: {port}, hostIP: 127.0.0.1}}
    volumeMounts:
    - {{name: site, mountPath: /www}}
  volumes:
  - name: site
    configMap: {{name: {cm}}}
"#
    )
}

#[test]
fn kube_play_deployment_configmap_claim_then_down_leaves_nothing() {
    if !wired() {
        return;
    }
    let r = busybox();
    let net = TestNetwork::create(&r, "kplay", &[]);
    let (cm, pvc) = (unique("kplay-cm"), unique("kplay-data"));
    let _clean = Cleanup(&r, vec![cm.clone(), pvc.clone()]);
    let (dep, front) = (unique("kplay-web"), unique("kplay-front"));
    let port = free_port();
    let file = write(&r, "web.yaml", &web_yaml(&cm, &pvc, &dep, &front, port));

    let (code, out, err) = r.code(&["kube", "play", "--network", &net.name, &file]);
    assert_eq!(code, Some(0), "{out}{err}");
    // The unread field is named on stderr, once (one Deployment document).
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("readinessProbe"))
        .collect();
    assert_eq!(warned.len(), 1, "{err}");
    assert!(
        warned[0].contains("spec.template.spec.containers[0].readinessProbe"),
        "{err}"
    );
    // Podman's report: the claim's volume, then each pod with its container.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["Volumes:", pvc.as_str()], "{out}");
    assert_eq!(out.matches("Pod:\n").count(), 3, "{out}");
    assert_eq!(out.matches("Container:\n").count(), 3, "{out}");

    // Pods and containers named as Podman names them.
    let pods = r.ok(&["pod", "ps", "--format", "{{.Name}} {{.Status}}"]);
    for p in [
        format!("{dep}-pod-0"),
        format!("{dep}-pod-1"),
        front.clone(),
    ] {
        assert!(pods.contains(&format!("{p} Running")), "{pods}");
    }
    let names = r.ok(&["ps", "--format", "{{.Names}}"]);
    for c in [
        format!("{dep}-pod-0-httpd"),
        format!("{dep}-pod-1-httpd"),
        format!("{front}-httpd"),
    ] {
        assert!(names.lines().any(|l| l == c), "{names}");
    }
    // The init containers ran to completion and were removed.
    assert!(!names.contains("prepare"), "{names}");
    let all = r.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("prepare"), "{all}");

    // The hostPort answers on 127.0.0.1 with the ConfigMap's file.
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/")),
        "served-from-the-configmap"
    );
    // Each replica: the env from the ConfigMap, its key as a file, its own server, the
    // claim's volume with what the init container wrote.
    for i in 0..2 {
        let c = format!("{dep}-pod-{i}-httpd");
        assert_eq!(
            exec_until(&r, &c, "wget -qO- http://127.0.0.1:8080/"),
            "served-from-the-configmap"
        );
        let seen = r.ok(&[
            "exec",
            &c,
            "sh",
            "-c",
            "echo $GREETING $PLAIN; cat /www/GREETING; echo; cat /data/init-done; hostname",
        ]);
        assert_eq!(
            seen,
            format!(
                "hello-from-the-configmap plain-value\nhello-from-the-configmap\nprepared\n{dep}-pod-{i}\n"
            )
        );
        // Mounted read-only, as the mount said.
        let (code, _, _) = r.code(&["exec", &c, "sh", "-c", "echo x > /www/new"]);
        assert_ne!(code, Some(0));
    }
    let env = r.ok(&[
        "exec",
        &format!("{front}-httpd"),
        "sh",
        "-c",
        "echo $GREETING",
    ]);
    assert_eq!(env, "hello-from-the-configmap\n");

    let infras: Vec<String> = r
        .ok(&["pod", "ps", "--no-trunc", "--format", "{{.InfraID}}"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(infras.len(), 3);

    let (code, out, err) = r.code(&["kube", "down", &file]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("Pods stopped:\n"), "{out}");
    assert!(out.contains("Pods removed:\n"), "{out}");
    // Nothing left: containers, pods, namespaces, rules, the held port.
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    for infra in &infras {
        assert_no_network_leak(infra, &net.subnet, None);
    }
    let rules = host_says("iptables-save", &[]);
    assert!(
        !rules.contains(&format!("{port}")),
        "rule of {port} left:\n{rules}"
    );
    if Path::new("/usr/sbin/nft").exists() {
        let nft = host_says("nft", &["list", "ruleset"]);
        assert!(
            !nft.contains(&format!("dport {port}")),
            "nft rule of {port} left"
        );
    }
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port still held");
    // The claim's and the ConfigMap's volumes stay, as Podman 4.3 leaves them ...
    let vols = r.ok(&["volume", "ls", "-q"]);
    let mut vols: Vec<&str> = vols.lines().collect();
    vols.sort();
    let mut want = vec![cm.as_str(), pvc.as_str()];
    want.sort();
    assert_eq!(vols, want);
    // ... until `kube down --force` (played again: the volumes are reused).
    r.ok(&["kube", "play", "--network", &net.name, &file]);
    let again = r.ok(&[
        "exec",
        &format!("{dep}-pod-0-httpd"),
        "cat",
        "/data/init-done",
    ]);
    assert_eq!(again, "prepared\n");
    // The file on stdin (`-`).
    let out = r
        .cmd(&["kube", "down", "--force", "-"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("Volumes removed:\n"), "{out}");
    assert_eq!(r.ok(&["volume", "ls", "-q"]).trim(), "");
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    r.assert_no_leftovers();
    drop(net);
}

#[test]
fn kube_play_bad_input_in_one_line() {
    if !wired() {
        return;
    }
    let r = busybox();
    let _clean = Cleanup(&r, Vec::new());
    let fails = |file: &str, args: &[&str]| -> String {
        let mut all = vec!["kube"];
        all.extend_from_slice(args);
        all.push(file);
        let (code, out, err) = r.code(&all);
        assert_eq!(code, Some(125), "{out}{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        err
    };
    // A billion laughs.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        let row = vec![format!("*a{p}"); 9].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{row}]\n"));
    }
    let err = fails(&write(&r, "bomb.yaml", &bomb), &["play"]);
    assert!(
        err.contains("repetition limit exceeded") || err.contains("document bomb"),
        "{err}"
    );
    let err = fails(&write(&r, "plain.yaml", "hello: world\n"), &["play"]);
    assert!(err.contains("is not a Kubernetes object"), "{err}");
    let foo = "apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n";
    let err = fails(&write(&r, "foo.yaml", foo), &["play"]);
    assert!(err.contains("kind \"Foo\" (v1) is not supported"), "{err}");

    // A ConfigMap key naming a path out of its volume.
    let pod = unique("kplay-bad");
    let evil = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {pod}}}\ndata:\n  ../evil: x\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}}}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    volumeMounts: [{{name: v, mountPath: /v}}]\n  volumes:\n  - name: v\n    configMap: {{name: {pod}}}\n"
    );
    let err = fails(&write(&r, "evil.yaml", &evil), &["play"]);
    assert!(err.contains("\"../evil\": must be a file name"), "{err}");
    // An items path that climbs, also refused (the pod made for it removed again).
    let climb = evil.replace("../evil: x", "ok: x").replace(
        &format!("configMap: {{name: {pod}}}"),
        &format!("configMap: {{name: {pod}, items: [{{key: ok, path: ../evil}}]}}"),
    );
    let err = fails(&write(&r, "climb.yaml", &climb), &["play"]);
    assert!(err.contains("must be a file name"), "{err}");
    // Nothing made by the refused files.
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(r.ok(&["volume", "ls", "-q"]).trim(), "");
    r.env.assert_canary();

    // A pod that cannot be made takes the file's earlier pods and secrets along.
    let half = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {pod}}}\nstringData: {{k: v}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}-a}}\nspec:\n  containers:\n  \
         - {{name: c, image: busybox, command: [sleep, '300']}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}-b}}\nspec:\n  containers:\n  \
         - {{name: c, image: kplay-nosuch, imagePullPolicy: Never}}\n"
    );
    let err = fails(&write(&r, "half.yaml", &half), &["play"]);
    assert!(err.contains("kplay-nosuch"), "{err}");
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    assert_eq!(r.ok(&["ps", "-aq"]).trim(), "");
    assert_eq!(r.ok(&["secret", "ls", "-q"]).trim(), "");

    // A pod name that exists: Podman's words, nothing made.
    let taken = unique("kplay-taken");
    r.ok(&["pod", "create", "--name", &taken]);
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {taken}}}\nspec:\n  containers:\n  - {{name: c, image: busybox, command: [sleep, '300']}}\n"
    );
    let file = write(&r, "taken.yaml", &yaml);
    let err = fails(&file, &["play"]);
    assert!(
        err.contains(&format!(
            "adding pod to state: name \"{taken}\" is in use: pod already exists"
        )),
        "{err}"
    );
    assert_eq!(r.ok(&["ps", "-aq"]).lines().count(), 1);
    // --replace takes the old pod down first; --start=false leaves the new one created.
    r.ok(&["kube", "play", "--replace", "--start=false", &file]);
    let status = r.ok(&["pod", "ps", "--format", "{{.Name}} {{.Status}}"]);
    assert_eq!(status.trim(), format!("{taken} Created"));
    assert_eq!(
        r.ok(&["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .filter(|l| *l == format!("{taken}-c"))
            .count(),
        1
    );
    r.ok(&["kube", "down", &file]);
    // `kube down` of a file whose pods are gone: Podman's words and exit code.
    let err = fails(&file, &["down"]);
    assert!(
        err.contains(&format!(
            "no pod with name or ID {taken} found: no such pod"
        )),
        "{err}"
    );
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    r.assert_no_leftovers();
}

#[test]
fn kube_play_secrets_security_volumes_and_flags() {
    if !wired() {
        return;
    }
    let r = busybox();
    let _clean = Cleanup(&r, Vec::new());
    let (ds, sec) = (unique("kplay-ds"), unique("kplay-sec"));
    let host = r.env.path("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "host-file").unwrap();
    let yaml = format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: {sec}
data:
  password: c2VjcmV0LXZhbHVl
stringData:
  user: admin
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {ds}
spec:
  selector:
    matchLabels: {{app: ds}}
  template:
    metadata:
      labels: {{app: ds}}
    spec:
      terminationGracePeriodSeconds: 0
      securityContext: {{runAsUser: 1000}}
      containers:
      - name: main
        image: localhost/kplaybuilt
        command: [sh, -c, "exec httpd -f -p 8080 -h /srv"]
        workingDir: /tmp
        env:
        - name: PASSWORD
          valueFrom:
            secretKeyRef: {{name: {sec}, key: password}}
        - name: FOO
          valueFrom:
            configMapKeyRef: {{name: extcm, key: FOO}}
        envFrom:
        - secretRef: {{name: {sec}}}
          prefix: S_
        resources:
          limits: {{memory: 64Mi, cpu: 500m}}
        securityContext:
          runAsGroup: 2000
          readOnlyRootFilesystem: true
          capabilities: {{add: [NET_ADMIN], drop: [MKNOD]}}
        livenessProbe:
          exec: {{command: ["true"]}}
          periodSeconds: 5
        volumeMounts:
        - {{name: host, mountPath: /host, readOnly: true}}
        - {{name: scratch, mountPath: /scratch}}
        - {{name: sec, mountPath: /etc/sec}}
      volumes:
      - name: host
        hostPath: {{path: {host}, type: Directory}}
      - name: scratch
        emptyDir: {{}}
      - name: sec
        secret: {{secretName: {sec}}}
"#,
        host = host.display()
    );
    let file = write(&r, "ds.yaml", &yaml);
    let cm = write(
        &r,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extcm}\ndata: {FOO: from-file}\n",
    );
    // --build: the image is built from <context-dir>/<image name>/Containerfile.
    let ctx = r.env.path("ctx");
    std::fs::create_dir_all(ctx.join("kplaybuilt")).unwrap();
    std::fs::write(
        ctx.join("kplaybuilt/Containerfile"),
        "FROM busybox\nRUN mkdir /srv && echo built > /srv/index.html\n",
    )
    .unwrap();
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let out = r.ok(&[
        "kube",
        "play",
        "--configmap",
        &cm,
        "--publish",
        &publish,
        "--context-dir",
        ctx.to_str().unwrap(),
        "--no-hosts",
        "--log-driver",
        "none",
        &file,
    ]);
    assert!(
        out.contains("Successfully tagged localhost/kplaybuilt:latest"),
        "{out}"
    );
    // --publish on the DaemonSet's one pod, serving what --build put in the image.
    assert_eq!(fetch(&format!("http://127.0.0.1:{port}/")), "built\n");
    let c = format!("{ds}-pod-main");
    let seen = r.ok(&[
        "exec",
        &c,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $PASSWORD $S_user $S_password $FOO; cat /etc/sec/user; echo; \
         cat /host/f; echo; touch /scratch/ok && echo scratch-ok; touch /x 2>/dev/null || echo ro",
    ]);
    assert_eq!(
        seen,
        "1000\n2000\n/tmp\nsecret-value admin secret-value from-file\nadmin\nhost-file\nscratch-ok\nro\n"
    );
    let f = "{{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}} {{.HostConfig.Memory}} \
             {{.HostConfig.NanoCpus}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.LogConfig.Type}}";
    assert_eq!(
        r.ok(&["inspect", "--format", f, &c]).trim(),
        "[NET_ADMIN] [MKNOD] 67108864 500000000 true none"
    );
    // --no-hosts: the image's /etc/hosts (it has none), in the member too.
    let (code, _, _) = r.code(&["exec", &c, "test", "-e", "/etc/hosts"]);
    assert_eq!(code, Some(1));
    // The secret's value is in berth's secret store only, never in inspect.
    let inspect = r.ok(&["inspect", &c]);
    assert!(!inspect.contains("secret-value"), "{inspect}");
    assert!(
        inspect.contains("\"HealthcheckOnFailureAction\": \"restart\""),
        "{inspect}"
    );
    let secrets = r.ok(&["secret", "ls", "--format", "{{.Name}}"]);
    assert_eq!(secrets.lines().count(), 2, "{secrets}");
    // The pod's emptyDir, its secrets and the pod go with `kube down`.
    let out = r.ok(&["kube", "down", &file]);
    assert!(out.contains(&format!("{ds}-pod-scratch")), "{out}");
    assert_eq!(r.ok(&["secret", "ls", "-q"]).trim(), "");
    assert_eq!(r.ok(&["volume", "ls", "-q"]).trim(), "");
    assert_eq!(r.ok(&["pod", "ps", "-q"]).trim(), "");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port still held");
    r.assert_no_leftovers();
}

/// As a plain user (berth's user namespace, `--network none`): a pod with a ConfigMap and a
/// hostPath plays and goes down; a hostPath the user cannot read is refused in one line.
#[test]
fn kube_play_as_a_plain_user() {
    if !wired() {
        return;
    }
    let r = crate::rootless_run::Rootless::with_busybox();
    let dir = r.env.dir.path();
    let open = dir.join("open");
    let closed = dir.join("closed");
    for d in [&open, &closed] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("f"), "host-file").unwrap();
    }
    // `closed` stays root's, mode 0700.
    std::fs::set_permissions(&closed, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let yaml = |pod: &str, host: &Path| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm}}\ndata: {{K: v}}\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}}}\nspec:\n  \
             terminationGracePeriodSeconds: 0\n  containers:\n  - name: main\n    image: bb\n    \
             command: [sleep, \"300\"]\n    env:\n    - name: K\n      valueFrom: \
             {{configMapKeyRef: {{name: cm, key: K}}}}\n    volumeMounts:\n    \
             - {{name: hp, mountPath: /hp}}\n  volumes:\n  - name: hp\n    hostPath: {{path: {}}}\n",
            host.display()
        )
    };
    std::fs::write(dir.join("ok.yaml"), yaml("rl-ok", &open)).unwrap();
    std::fs::write(dir.join("closed.yaml"), yaml("rl-closed", &closed)).unwrap();
    let d = dir.display();
    r.ok(&format!("$BERTH kube play --network none {d}/ok.yaml"));
    let seen = r.ok("$BERTH exec rl-ok-main sh -c 'echo $K; cat /hp/f'");
    assert_eq!(seen, "v\nhost-file");
    let out = r.sh(&format!("$BERTH kube play --network none {d}/closed.yaml"));
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("Error:"))
        .unwrap_or_default();
    assert!(line.contains("not readable by you"), "{err}");
    r.ok(&format!("$BERTH kube down {d}/ok.yaml"));
    assert_eq!(r.ok("$BERTH pod ps -q").trim(), "");
    assert_eq!(r.ok("$BERTH volume ls -q").trim(), "");
    r.finish();
}
