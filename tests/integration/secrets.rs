//! Secrets as Podman 4.3's file driver (issue 20): `secret create|ls|inspect|rm|exists` with
//! Podman's words and exit codes, the store's files private, and `run --secret` as a
//! read-only file or an environment variable that never reaches `inspect`, a layer or a
//! `commit`ted image.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::run::busybox;

const DATA: &str = "runopts-s3cr3t-value";

/// Every byte of every file under `dir`, gzip layers unpacked: whether `needle` is there.
fn found_under(dir: &std::path::Path, needle: &[u8]) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let kind = fs::symlink_metadata(&p).unwrap().file_type();
            if kind.is_dir() {
                stack.push(p);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let raw = fs::read(&p).unwrap();
            let mut text = raw.clone();
            let mut gz = flate2::read::GzDecoder::new(&raw[..]);
            let mut unpacked = Vec::new();
            if gz.read_to_end(&mut unpacked).is_ok() {
                text.extend_from_slice(&unpacked);
            }
            if text.windows(needle.len()).any(|w| w == needle) {
                return true;
            }
        }
    }
    false
}

#[test]
fn secret_commands_as_podman() {
    let r = busybox();
    let file = r.env.path("secret.txt");
    fs::write(&file, DATA).unwrap();
    let id = r.ok(&["secret", "create", "runopts-a", file.to_str().unwrap()]);
    let id = id.trim();
    assert_eq!(id.len(), 25, "{id}");
    // From stdin, and from a variable with --env.
    let mut child = r
        .cmd(&["secret", "create", "runopts-b", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"from-stdin").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let out = r
        .cmd(&[
            "secret",
            "create",
            "--env",
            "runopts-c",
            "RUNOPTS_SECRET_VAR",
        ])
        .env("RUNOPTS_SECRET_VAR", "from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let table = r.ok(&["secret", "ls"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]);
    assert_eq!(lines.count(), 3, "{table}");
    assert!(r.ok(&["secret", "ls", "-q"]).lines().any(|l| l == id));
    let names = r.ok(&["secret", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert_eq!(names, "runopts-a file\nrunopts-b file\nrunopts-c file\n");

    let inspect = r.ok(&["secret", "inspect", "runopts-a"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v[0]["ID"], id);
    assert_eq!(v[0]["Spec"]["Name"], "runopts-a");
    assert_eq!(v[0]["Spec"]["Driver"]["Name"], "file");
    assert!(!inspect.contains(DATA), "{inspect}");
    assert_eq!(
        r.ok(&["secret", "inspect", "--format", "{{.Spec.Name}}", &id[..8]]),
        "runopts-a\n"
    );

    // The store: one place, private, no data beside the data files.
    let dir = r.env.root.join("secrets");
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("data")), 0o700);
    assert_eq!(mode(&dir.join("data").join(id)), 0o600);
    assert_eq!(fs::read_to_string(dir.join("data").join(id)).unwrap(), DATA);
    assert!(!fs::read_to_string(dir.join("secrets.json"))
        .unwrap()
        .contains(DATA));

    // Podman's refusals and exit codes.
    let fails = |args: &[&str], want: &str| {
        let (code, _, err) = r.code(args);
        assert_eq!(code, Some(125), "{args:?}: {err}");
        assert_eq!(err.trim_end(), want, "{args:?}");
    };
    fails(
        &["secret", "create", "runopts-a", file.to_str().unwrap()],
        "Error: runopts-a: secret name in use",
    );
    fails(
        &["secret", "inspect", "runopts-nosuch"],
        "Error: inspecting secret: no secret with name or id \"runopts-nosuch\": no such secret",
    );
    fails(
        &["secret", "rm", "runopts-nosuch"],
        "Error: no secret with name or id \"runopts-nosuch\": no such secret",
    );
    let big = r.env.path("big");
    fs::write(&big, vec![b'x'; 512_000]).unwrap();
    fails(
        &["secret", "create", "runopts-big", big.to_str().unwrap()],
        "Error: secret data must be larger than 0 and less than 512000 bytes",
    );
    fails(
        &["secret", "create", "bad/name", file.to_str().unwrap()],
        "Error: only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]: bad/name: invalid secret name",
    );
    assert_eq!(r.code(&["secret", "exists", "runopts-a"]).0, Some(0));
    assert_eq!(r.code(&["secret", "exists", "runopts-nosuch"]).0, Some(1));

    assert_eq!(r.ok(&["secret", "rm", "runopts-a"]).trim(), id);
    assert!(!dir.join("data").join(id).exists());
    assert_eq!(r.ok(&["secret", "rm", "--all"]).lines().count(), 2);
    assert_eq!(r.ok(&["secret", "ls", "-q"]), "");
}

#[test]
fn run_secret_as_file_and_env_never_in_inspect_or_commit() {
    let r = busybox();
    let file = r.env.path("secret.txt");
    fs::write(&file, DATA).unwrap();
    r.ok(&["secret", "create", "runopts-tok", file.to_str().unwrap()]);
    let out = r.ok(&[
        "run",
        "--name",
        "runopts-sec",
        "--secret",
        "runopts-tok",
        "--secret",
        "runopts-tok,type=env,target=RUNOPTS_TOK",
        "--secret",
        "runopts-tok,target=/etc/tok,uid=5,gid=6,mode=0400",
        "busybox",
        "sh",
        "-c",
        "cat /run/secrets/runopts-tok; echo; echo $RUNOPTS_TOK; \
         stat -c '%a %u %g' /run/secrets/runopts-tok /etc/tok; \
         echo changed > /run/secrets/runopts-tok 2>/dev/null || echo read-only",
    ]);
    assert_eq!(
        out,
        format!("{DATA}\n{DATA}\n444 0 0\n400 5 6\nread-only\n")
    );
    // Once it stopped, the data is in the secret store alone (not in its bundle).
    assert!(
        !found_under(&r.runroot, DATA.as_bytes()),
        "left in the run root"
    );
    // Not in the container's inspect, nor in an image committed from it.
    let inspect = r.ok(&["inspect", "runopts-sec"]);
    assert!(!inspect.contains(DATA), "{inspect}");
    r.ok(&["commit", "runopts-sec", "runopts-committed"]);
    let layout = r.env.path("committed-oci");
    r.ok(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        layout.to_str().unwrap(),
        "runopts-committed",
    ]);
    assert!(
        !found_under(&layout, DATA.as_bytes()),
        "the secret is in the committed image"
    );
    let snapshots = r.env.root.join("snapshots");
    assert!(!found_under(&snapshots, DATA.as_bytes()));
    let out = r.ok(&[
        "run",
        "--rm",
        "runopts-committed",
        "sh",
        "-c",
        "cat /run/secrets/runopts-tok 2>/dev/null; echo [$RUNOPTS_TOK]",
    ]);
    assert_eq!(out, "[]\n");

    // An exec gets the env secret too, as Podman's.
    let id = r
        .ok(&[
            "run",
            "-d",
            "--secret",
            "runopts-tok,type=env,target=RUNOPTS_TOK",
            "busybox",
            "sleep",
            "30",
        ])
        .trim()
        .to_string();
    assert_eq!(
        r.ok(&["exec", &id, "sh", "-c", "echo $RUNOPTS_TOK"]),
        format!("{DATA}\n")
    );
    r.ok(&["rm", "-f", &id]);

    // A missing secret: Podman's words, nothing created.
    let (code, _, err) = r.code(&[
        "run",
        "--rm",
        "--secret",
        "runopts-nosuch",
        "busybox",
        "true",
    ]);
    assert_eq!(code, Some(125));
    assert_eq!(
        err.trim_end(),
        "Error: no secret with name or id \"runopts-nosuch\": no such secret"
    );
    let (code, _, err) = r.code(&[
        "run",
        "--rm",
        "--secret",
        "runopts-tok,type=env,uid=3",
        "busybox",
        "true",
    ]);
    assert_eq!(code, Some(125));
    assert!(err.contains("UID, GID, Mode options cannot be set with secret type env"));
}

#[test]
fn rootless_secrets_and_devices() {
    let r = crate::rootless_run::Rootless::with_busybox();
    let file = r.env.path("home/secret.txt");
    r.ok(&format!("printf %s {DATA} > {}", file.display()));
    r.ok(&format!(
        "$BERTH secret create runopts-rl {}",
        file.display()
    ));
    let out = r.ok(
        "$BERTH run --rm --secret runopts-rl --secret runopts-rl,type=env,target=TOK \
         --device /dev/null:/dev/runopts-null:rw bb sh -c \
         'cat /run/secrets/runopts-rl; echo; echo $TOK; stat -c %t:%T /dev/runopts-null'",
    );
    assert_eq!(out, format!("{DATA}\n{DATA}\n1:3\n"));
    let data = r.env.path("home/.local/share/berth/secrets/data");
    let mode = fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(!r.ok("$BERTH secret inspect runopts-rl").contains(DATA));
}

#[test]
fn secret_ls_filter_by_name_and_id_as_podman() {
    let r = crate::run::RunEnv::new();
    let file = r.env.path("secret.txt");
    fs::write(&file, DATA).unwrap();
    let f = file.to_str().unwrap();
    let db = r
        .ok(&["secret", "create", "daily-db-pass", f])
        .trim()
        .to_string();
    let api = r
        .ok(&["secret", "create", "daily-api-key", f])
        .trim()
        .to_string();
    let names = |filters: &[&str]| {
        let mut args = vec!["secret", "ls", "--format", "{{.Name}}"];
        for flt in filters {
            args.extend_from_slice(&["--filter", flt]);
        }
        r.ok(&args)
    };
    assert_eq!(names(&["name=db-pass"]), "daily-db-pass\n");
    // Values of one kind are alternatives; kinds must all hold.
    let both = names(&["name=^daily-api", "name=pass$"]);
    assert_eq!(both.lines().count(), 2, "{both}");
    assert_eq!(names(&[&format!("id={}", &api[..12])]), "daily-api-key\n");
    assert_eq!(names(&[&format!("id=^{db}$"), "name=api"]), "");
    assert_eq!(
        r.ok(&["secret", "ls", "-q", "-f", "name=db"]),
        format!("{db}\n")
    );
    let (code, _, err) = r.code(&["secret", "ls", "--filter", "driver=file"]);
    assert_eq!(code, Some(125), "{err}");
    assert_eq!(err, "Error: invalid filter \"driver\"\n");
}
