//! `berth cp` through the CLI, as root: both directions, tar streams on stdin and stdout,
//! Podman's rules for trailing `/` and `/.`, running and stopped containers, ownership, and
//! the hostile cases: a container swapping a directory for a symlink to `/` while cp runs,
//! `..` paths, and absolute symlinks inside the container, which must resolve in its root.
//! The harness is `run`'s [`RunEnv`] (containers removed, mounts unmounted on drop).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Stdio;

use crate::run::{busybox, wait_until, RunEnv};

/// `berth cp ARGS…`: (exit code, stdout, stderr).
fn cp(r: &RunEnv, args: &[&str]) -> (Option<i32>, Vec<u8>, String) {
    let mut full = vec!["cp"];
    full.extend_from_slice(args);
    let out = r.run(&full);
    (
        out.status.code(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn cp_ok(r: &RunEnv, args: &[&str]) -> Vec<u8> {
    let (code, out, err) = cp(r, args);
    assert_eq!(code, Some(0), "cp {args:?}: {err}");
    out
}

fn cp_fails(r: &RunEnv, args: &[&str]) -> String {
    let (code, _, err) = cp(r, args);
    assert_eq!(code, Some(125), "cp {args:?} should fail: {err}");
    assert!(err.starts_with("Error: "), "{err}");
    err
}

/// The names in a tar stream.
fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            String::from_utf8_lossy(&e.path_bytes())
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

/// A file's content inside container `c` (read through `cp C:PATH -`).
fn read_in(r: &RunEnv, c: &str, path: &str) -> String {
    let out = cp_ok(r, &[&format!("{c}:{path}"), "-"]);
    let mut a = tar::Archive::new(&out[..]);
    let mut e = a.entries().unwrap().next().expect("one entry").unwrap();
    let mut s = String::new();
    std::io::Read::read_to_string(&mut e, &mut s).unwrap();
    s
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn cp_both_ways_stopped_then_running() {
    let r = busybox();
    r.ok(&["create", "--name", "box", "busybox", "sleep", "600"]);
    let host = r.env.path("host");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("f"), "from host\n").unwrap();

    // Stopped: the snapshot is mounted for the copy and unmounted after.
    cp_ok(&r, &[s(&host.join("f")), "box:/tmp/"]);
    assert_eq!(read_in(&r, "box", "/tmp/f"), "from host\n");
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !info.contains(r.env.root.join("snapshots").to_str().unwrap()),
        "a stopped container's snapshot stays mounted after cp"
    );
    cp_ok(&r, &["box:/tmp/f", s(&host.join("back"))]);
    assert_eq!(
        fs::read_to_string(host.join("back")).unwrap(),
        "from host\n"
    );

    // A tar stream on stdin goes into an existing directory.
    let mut tarball = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o640);
    h.set_entry_type(tar::EntryType::Regular);
    tarball
        .append_data(&mut h, "sub/streamed", &b"piped\n"[..])
        .unwrap();
    let bytes = tarball.into_inner().unwrap();
    let mut child = r
        .cmd(&["cp", "-", "box:/tmp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_in(&r, "box", "/tmp/sub/streamed"), "piped\n");
    // …and not into a file or a missing directory.
    cp_fails(&r, &["-", "box:/tmp/f"]);

    // A tar stream on stdout: the directory under its own name.
    let names = tar_names(&cp_ok(&r, &["box:/tmp", "-"]));
    assert!(names.contains(&"tmp/f".to_string()), "{names:?}");
    assert!(names.contains(&"tmp/sub/streamed".to_string()), "{names:?}");
    let names = tar_names(&cp_ok(&r, &["box:/tmp/.", "-"]));
    assert!(names.contains(&"f".to_string()), "{names:?}");

    // Running: the same through the container's live overlay.
    r.ok(&["start", "box"]);
    cp_ok(&r, &[s(&host.join("f")), "box:/root/running"]);
    assert_eq!(
        r.ok(&["exec", "box", "cat", "/root/running"]),
        "from host\n"
    );
    r.ok(&["exec", "box", "sh", "-c", "echo made inside > /root/inside"]);
    r.ok(&[
        "container",
        "cp",
        "box:/root/inside",
        s(&host.join("inside")),
    ]);
    assert_eq!(
        fs::read_to_string(host.join("inside")).unwrap(),
        "made inside\n"
    );
    // Between two containers.
    r.ok(&["create", "--name", "other", "busybox", "true"]);
    cp_ok(&r, &["box:/root/inside", "other:/copied"]);
    assert_eq!(read_in(&r, "other", "/copied"), "made inside\n");
    // A host-to-host copy or an unknown container is an error.
    cp_fails(&r, &[s(&host.join("f")), s(&host.join("g"))]);
    let err = cp_fails(&r, &["nosuchbox:/x", s(&host.join("g"))]);
    assert!(err.contains("nosuchbox"), "{err}");
    r.ok(&["rm", "-f", "box", "other"]);
    r.assert_no_leftovers();
}

#[test]
fn cp_trailing_slash_rules() {
    let r = busybox();
    r.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "600"]);
    r.ok(&["exec", "box", "mkdir", "-p", "/d1", "/d2", "/d3"]);
    let host = r.env.path("host");
    let src = host.join("srcdir");
    fs::create_dir_all(src.join("inner")).unwrap();
    fs::write(src.join("inner/x"), "x\n").unwrap();
    fs::write(host.join("file"), "file\n").unwrap();
    let file = s(&host.join("file")).to_string();
    let dir = s(&src).to_string();
    let exists = |p: &str| r.code(&["exec", "box", "test", "-e", p]).0 == Some(0);
    let is_file = |p: &str| r.code(&["exec", "box", "test", "-f", p]).0 == Some(0);

    // SRC is a file.
    cp_ok(&r, &[&file, "box:/newfile"]); // DEST missing: created as a file
    assert!(is_file("/newfile"));
    let err = cp_fails(&r, &[&file, "box:/missing/"]); // missing with '/': must exist
    assert!(err.contains("must exist"), "{err}");
    assert!(!exists("/missing"));
    cp_ok(&r, &[&file, "box:/etc/passwd"]); // an existing file: overwritten
    assert_eq!(read_in(&r, "box", "/etc/passwd"), "file\n");
    cp_fails(&r, &[&file, "box:/etc/passwd/"]); // a file named with '/'
    cp_ok(&r, &[&file, "box:/d1"]); // an existing directory: into it, own name
    assert!(is_file("/d1/file"));
    let err = cp_fails(&r, &[&file, "box:/nodir/x"]); // the parent must exist
    assert!(err.contains("/nodir"), "{err}");
    cp_fails(&r, &[&format!("{file}/"), "box:/d1"]); // SRC 'file/': not a directory

    // SRC is a directory.
    cp_ok(&r, &[&dir, "box:/newdir"]); // DEST missing: created, contents copied
    assert!(is_file("/newdir/inner/x"));
    cp_ok(&r, &[&dir, "box:/d2"]); // an existing directory: copied into it
    assert!(is_file("/d2/srcdir/inner/x"));
    cp_ok(&r, &[&format!("{dir}/."), "box:/d3"]); // '/.': its contents
    assert!(is_file("/d3/inner/x") && !exists("/d3/srcdir"));
    let err = cp_fails(&r, &[&dir, "box:/newfile"]); // an existing file
    assert!(err.contains("directory to a file"), "{err}");

    // The same rules from the container to the host.
    let out = r.env.path("out");
    fs::create_dir_all(&out).unwrap();
    cp_ok(&r, &["box:/d1/file", s(&out.join("f1"))]);
    assert_eq!(fs::read_to_string(out.join("f1")).unwrap(), "file\n");
    cp_ok(&r, &["box:/newdir", s(&out)]);
    assert!(out.join("newdir/inner/x").is_file());
    cp_ok(&r, &["box:/newdir/.", s(&out.join("contents"))]);
    assert!(out.join("contents/inner/x").is_file());
    fs::create_dir_all(out.join("c2")).unwrap();
    cp_ok(&r, &["box:/newdir/.", s(&out.join("c2"))]);
    assert!(out.join("c2/inner/x").is_file() && !out.join("c2/newdir").exists());
    let with_sep = format!("{}/", s(&out.join("nothere")));
    cp_fails(&r, &["box:/d1/file", &with_sep]);
    assert!(!out.join("nothere").exists());
    cp_fails(&r, &["box:/newdir", s(&out.join("f1"))]);

    // --overwrite: a directory may replace a file and the other way round.
    fs::create_dir_all(out.join("ow")).unwrap();
    fs::write(out.join("ow/inner"), "a file\n").unwrap();
    let err = cp_fails(&r, &["box:/newdir/.", s(&out.join("ow"))]);
    assert!(err.contains("--overwrite"), "{err}");
    cp_ok(&r, &["--overwrite", "box:/newdir/.", s(&out.join("ow"))]);
    assert!(out.join("ow/inner/x").is_file());
}

#[test]
fn cp_paths_resolve_inside_the_container() {
    let r = busybox();
    r.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "600"]);
    r.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "echo in-container > /etc/only-here; ln -s /etc /tmp/abs; ln -s ../../../../../etc /tmp/rel; \
         ln -s /etc/only-here /tmp/filelink",
    ]);
    let host = r.env.path("host");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("f"), "host\n").unwrap();
    let unique = format!("berth-cp-dotdot-{}", std::process::id());

    // '..' stops at the container's '/'.
    cp_ok(
        &r,
        &[
            s(&host.join("f")),
            &format!("box:/../../../../tmp/{unique}"),
        ],
    );
    assert_eq!(read_in(&r, "box", &format!("/tmp/{unique}")), "host\n");
    assert!(
        !Path::new("/tmp").join(&unique).exists(),
        "written on the host"
    );
    cp_ok(&r, &["box:../../../etc/only-here", s(&host.join("dd"))]);
    assert_eq!(
        fs::read_to_string(host.join("dd")).unwrap(),
        "in-container\n"
    );

    // Absolute and climbing symlinks resolve against the container's root.
    for link in ["abs", "rel"] {
        let got = host.join(format!("via-{link}"));
        cp_ok(&r, &[&format!("box:/tmp/{link}/only-here"), s(&got)]);
        assert_eq!(fs::read_to_string(&got).unwrap(), "in-container\n");
        cp_ok(
            &r,
            &[s(&host.join("f")), &format!("box:/tmp/{link}/new-{link}")],
        );
        assert_eq!(
            r.ok(&["exec", "box", "cat", &format!("/etc/new-{link}")]),
            "host\n"
        );
    }
    assert!(!Path::new("/etc/new-abs").exists() && !Path::new("/etc/only-here").exists());
    // A host file the container does not have is never found through them.
    assert!(Path::new("/etc/hostname").exists() || Path::new("/etc/os-release").exists());
    for p in [
        "/tmp/abs/os-release",
        "/tmp/rel/hostname",
        "/tmp/abs/hostname",
    ] {
        let (code, _, _) = cp(&r, &[&format!("box:{p}"), s(&host.join("leak"))]);
        let inside = r.code(&["exec", "box", "test", "-e", p]).0 == Some(0);
        assert_eq!(code == Some(0), inside, "{p}");
    }

    // -L copies what a source link points to; without it, the link itself.
    cp_ok(&r, &["box:/tmp/filelink", s(&host.join("link"))]);
    let m = fs::symlink_metadata(host.join("link")).unwrap();
    assert!(m.file_type().is_symlink());
    assert_eq!(
        fs::read_link(host.join("link")).unwrap(),
        Path::new("/etc/only-here")
    );
    cp_ok(&r, &["-L", "box:/tmp/filelink", s(&host.join("followed"))]);
    assert_eq!(
        fs::read_to_string(host.join("followed")).unwrap(),
        "in-container\n"
    );
    // Extracting on the host never writes through a link from the container.
    cp_ok(&r, &["box:/tmp", s(&host.join("tree"))]);
    assert!(fs::symlink_metadata(host.join("tree/abs"))
        .unwrap()
        .file_type()
        .is_symlink());
    r.env.assert_canary();
}

#[test]
fn cp_ownership_and_modes() {
    let r = busybox();
    r.ok(&["create", "--name", "box", "busybox", "true"]);
    r.ok(&[
        "create",
        "--name",
        "user",
        "-u",
        "1234:4321",
        "busybox",
        "true",
    ]);
    let host = r.env.path("host");
    fs::create_dir_all(&host).unwrap();
    let f = host.join("owned");
    fs::write(&f, "x").unwrap();
    std::os::unix::fs::chown(&f, Some(777), Some(888)).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o4755)).unwrap();
    let ids = |c: &str, p: &str| {
        let out = cp_ok(&r, &["--archive=false", &format!("{c}:{p}"), "-"]);
        let mut a = tar::Archive::new(&out[..]);
        let e = a.entries().unwrap().next().unwrap().unwrap();
        let h = e.header();
        (h.uid().unwrap(), h.gid().unwrap(), h.mode().unwrap())
    };
    // Default (Podman's --archive): the container's user.
    cp_ok(&r, &[s(&f), "box:/a"]);
    assert_eq!(ids("box", "/a"), (0, 0, 0o4755));
    cp_ok(&r, &[s(&f), "user:/a"]);
    assert_eq!(ids("user", "/a").0, 1234);
    assert_eq!(ids("user", "/a").1, 4321);
    // --archive=false: the source's ids.
    cp_ok(&r, &["--archive=false", s(&f), "box:/b"]);
    assert_eq!(ids("box", "/b"), (777, 888, 0o4755));
    // On the host: the caller's ids, set-id bits dropped.
    cp_ok(&r, &["box:/b", s(&host.join("back"))]);
    let m = fs::metadata(host.join("back")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
    assert_eq!(m.mode() & 0o7777, 0o755);
    r.ok(&["rm", "box", "user"]);
    r.assert_no_leftovers();
}

/// The bad input of issue 3: while cp runs, the container swaps `/d` between a directory and
/// a symlink to `/` as fast as it can. Whatever wins the race, cp must not write on the host
/// (the canary directory stays as it was) nor read a host file.
#[test]
fn cp_while_the_container_swaps_a_directory_for_a_symlink() {
    let r = busybox();
    let canary = r.env.path("canary");
    let canary_s = s(&canary).to_string();
    r.ok(&[
        "run",
        "-d",
        "--name",
        "racer",
        "busybox",
        "sh",
        "-c",
        "while :; do rm -rf /d; mkdir /d; rm -rf /d; ln -s / /d; done",
    ]);
    // The container has the canary's path too, so writes that follow /d to '/' succeed —
    // inside the container.
    r.ok(&["exec", "racer", "mkdir", "-p", &canary_s]);
    r.ok(&[
        "exec",
        "racer",
        "sh",
        "-c",
        "echo container-passwd > /etc/passwd-copy",
    ]);
    let before: Vec<_> = fs::read_dir(&canary)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let host = r.env.path("host");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("payload"), "payload\n").unwrap();
    let (mut wrote, mut read) = (0, 0);
    for i in 0..150 {
        let dst = format!("racer:/d{canary_s}/x{i}");
        if cp(&r, &[s(&host.join("payload")), &dst]).0 == Some(0) {
            wrote += 1;
        }
        let into = host.join(format!("got{i}"));
        if cp(&r, &["racer:/d/etc/passwd-copy", s(&into)]).0 == Some(0) {
            read += 1;
            assert_eq!(fs::read_to_string(&into).unwrap(), "container-passwd\n");
        }
        // The canary's file exists on the host only.
        let leak = host.join("leak");
        let (code, _, _) = cp(&r, &[&format!("racer:/d{canary_s}/keep"), s(&leak)]);
        assert_ne!(code, Some(0), "read the host's canary through /d");
        assert!(!leak.exists());
        // A directory copy into the racing path.
        let _ = cp(&r, &[s(&host), &format!("racer:/d{canary_s}/tree{i}")]);
    }
    let after: Vec<_> = fs::read_dir(&canary)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "cp wrote into the host's canary directory");
    r.env.assert_canary();
    assert!(
        wrote > 0,
        "no copy landed: the race test did not exercise anything"
    );
    assert!(read > 0, "no copy out succeeded");
    wait_until("racer still running", || r.ok(&["ps"]).contains("racer"));
}

#[test]
fn cp_reaches_a_running_containers_volumes_and_tmpfs() {
    let r = busybox();
    let vol = r.env.path("vol");
    fs::create_dir_all(&vol).unwrap();
    let bind = format!("{}:/data", s(&vol));
    r.ok(&[
        "run", "-d", "--name", "box", "-v", &bind, "--tmpfs", "/scratch", "busybox", "sleep", "600",
    ]);
    let host = r.env.path("host");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("f"), "to volume\n").unwrap();
    // Running: the container's own mounts, as Podman copies in its mount namespace.
    cp_ok(&r, &[s(&host.join("f")), "box:/data/"]);
    assert_eq!(fs::read_to_string(vol.join("f")).unwrap(), "to volume\n");
    cp_ok(&r, &[s(&host.join("f")), "box:/scratch/t"]);
    assert_eq!(r.ok(&["exec", "box", "cat", "/scratch/t"]), "to volume\n");
    cp_ok(&r, &["box:/scratch/t", s(&host.join("from-tmpfs"))]);
    assert_eq!(
        fs::read_to_string(host.join("from-tmpfs")).unwrap(),
        "to volume\n"
    );
    // Its /proc and /sys are not written through.
    cp_fails(&r, &[s(&host.join("f")), "box:/proc/sys/kernel/hostname"]);
    cp_fails(&r, &[s(&host.join("f")), "box:/sys/kernel/x"]);
    r.ok(&["rm", "-f", "box"]);
    r.assert_no_leftovers();
}

/// A stopped container's volumes are mounted for cp, as Podman does: a named volume and a
/// host directory receive the files (a read-only one refuses), both ways, and nothing stays
/// mounted on the host (the mounts live in cp's own mount namespace).
#[test]
fn cp_reaches_a_stopped_containers_volumes() {
    let r = busybox();
    let hostdir = r.env.path("hostdir");
    fs::create_dir_all(&hostdir).unwrap();
    fs::write(hostdir.join("h"), "from the bind\n").unwrap();
    let ro = format!("{}:/ro:ro", s(&hostdir));
    let rw = format!("{}:/rw", s(&hostdir));
    r.ok(&[
        "create",
        "--name",
        "box",
        "-v",
        "cpvol:/data",
        "-v",
        &ro,
        "-v",
        &rw,
        "busybox",
        "true",
    ]);
    let host = r.env.path("host");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("f"), "to volume\n").unwrap();

    cp_ok(&r, &[s(&host.join("f")), "box:/data/"]);
    let vol = r.env.root.join("volumes/cpvol/_data");
    assert_eq!(fs::read_to_string(vol.join("f")).unwrap(), "to volume\n");
    assert_eq!(read_in(&r, "box", "/data/f"), "to volume\n");
    assert_eq!(read_in(&r, "box", "/ro/h"), "from the bind\n");
    cp_ok(&r, &[s(&host.join("f")), "box:/rw/g"]);
    assert_eq!(
        fs::read_to_string(hostdir.join("g")).unwrap(),
        "to volume\n"
    );
    let err = cp_fails(&r, &[s(&host.join("f")), "box:/ro/x"]);
    assert!(err.contains("Read-only"), "{err}");
    assert!(!hostdir.join("x").exists());
    // The container sees what cp put in its volume.
    assert_eq!(r.ok(&["start", "-a", "box"]), "");
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !info.contains(s(&hostdir)),
        "a volume stayed mounted: {info}"
    );
    r.ok(&["rm", "-v", "box"]);
    r.ok(&["volume", "rm", "cpvol"]);
    r.assert_no_leftovers();
}

/// The PAX `SCHILY.xattr.*` records of `name` in a tar stream.
fn tar_xattrs(bytes: &[u8], name: &str) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(bytes);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if String::from_utf8_lossy(&e.path_bytes()).trim_end_matches('/') != name {
            continue;
        }
        let Some(exts) = e.pax_extensions().unwrap() else {
            return Vec::new();
        };
        return exts
            .map(|x| x.unwrap())
            .filter_map(|x| {
                let key = x.key().unwrap().strip_prefix("SCHILY.xattr.")?.to_string();
                Some((key, x.value_bytes().to_vec()))
            })
            .collect();
    }
    panic!("{name} is not in the stream");
}

#[test]
fn cp_carries_extended_attributes_and_keeps_root_only_ones_off_the_host() {
    let r = busybox();
    r.ok(&["create", "--name", "box", "busybox", "sleep", "600"]);
    let host = r.env.path("xattrs");
    fs::create_dir_all(host.join("d")).unwrap();
    fs::write(host.join("d/f"), "x").unwrap();
    xattr::set(host.join("d"), "user.berth.test", b"dir").unwrap();
    xattr::set(host.join("d/f"), "user.berth.test", b"file").unwrap();
    xattr::set(host.join("d/f"), "trusted.berth.test", b"root only").unwrap();

    // Into the stopped container's snapshot, and out again as a tar stream: all of them.
    cp_ok(&r, &[s(&host.join("d")), "box:/d"]);
    let stream = cp_ok(&r, &["box:/d", "-"]);
    assert_eq!(
        tar_xattrs(&stream, "d/f"),
        vec![
            ("trusted.berth.test".to_string(), b"root only".to_vec()),
            ("user.berth.test".to_string(), b"file".to_vec()),
        ]
    );
    assert_eq!(
        tar_xattrs(&stream, "d"),
        vec![("user.berth.test".to_string(), b"dir".to_vec())]
    );

    // Onto the host: the user.* namespace only.
    let back = r.env.path("back");
    fs::create_dir_all(&back).unwrap();
    cp_ok(&r, &["box:/d", s(&back)]);
    let get = |p: &str, n: &str| xattr::get(back.join(p), n).unwrap();
    assert_eq!(get("d/f", "user.berth.test"), Some(b"file".to_vec()));
    assert_eq!(get("d", "user.berth.test"), Some(b"dir".to_vec()));
    assert_eq!(get("d/f", "trusted.berth.test"), None);
}
