//! Known CVEs of layer extraction and image archives, one named regression test each
//! (`tests/SECURITY.md` maps every CVE to its test). Each hostile layer goes through the CLI
//! (`import`, `load`, `image mount`); afterwards the canary beside the store is unchanged, its
//! modes and owners too ([`HostState`]), and `system check` is clean.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::archives::{refused_load, saved_members};
use crate::deep_images::docker_archive;
use crate::hostile::{assert_refused, hostile_tar, Kind};
use crate::util::{require_tool, run_tool, tree_summary, TestEnv};

/// Type, mode, owner, link count and content of the canary dir and every entry in it: a
/// chmod, chown, link or write through an escaped entry changes it.
#[derive(Debug, PartialEq)]
pub(crate) struct HostState(Vec<(String, u32, u32, u32, u64, Vec<u8>)>);

impl HostState {
    pub(crate) fn of(env: &TestEnv) -> HostState {
        let canary = env.path("canary");
        let mut paths = vec![canary.clone()];
        let mut entries: Vec<_> = fs::read_dir(&canary)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        paths.extend(entries);
        HostState(
            paths
                .iter()
                .map(|p| {
                    let md = fs::symlink_metadata(p).unwrap();
                    let body = if md.is_file() {
                        fs::read(p).unwrap()
                    } else {
                        Vec::new()
                    };
                    (
                        p.display().to_string(),
                        md.mode(),
                        md.uid(),
                        md.gid(),
                        md.nlink(),
                        body,
                    )
                })
                .collect(),
        )
    }

    /// The canary is as it was, nothing hostile landed anywhere, the store checks clean.
    pub(crate) fn assert_unchanged(&self, env: &TestEnv) {
        assert_eq!(&HostState::of(env), self, "the host canary changed");
        env.assert_canary();
        env.assert_check_clean();
    }
}

fn canary(env: &TestEnv) -> String {
    fs::canonicalize(env.path("canary"))
        .unwrap()
        .display()
        .to_string()
}

/// Import `entries` as image `name` and mount it; returns the mounted rootfs.
fn import_and_mount(env: &TestEnv, name: &str, entries: &[(&str, Kind)]) -> String {
    let tar = env.path(&format!("{name}.tar"));
    hostile_tar(&tar, entries);
    env.ok(&["import", tar.to_str().unwrap(), name]);
    env.ok(&["image", "mount", name]).trim().to_string()
}

/// RUSTSEC-2018-0002 (tar-rs ≤0.4.15): a symlink to a host file, then a regular file of the
/// same name written through it. berth replaces the link inside the rootfs; the host file
/// keeps its bytes and its mode (the entry asks for setuid 4777).
#[test]
fn rustsec_2018_0002_file_over_a_symlink_replaces_the_link() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let keep = format!("{}/keep", canary(&env));
    let root = import_and_mount(
        &env,
        "over",
        &[
            ("x", Kind::Symlink(keep)),
            ("x", Kind::FileMode(b"layer bytes", 0o4777)),
        ],
    );
    let x = Path::new(&root).join("x");
    assert!(fs::symlink_metadata(&x).unwrap().is_file(), "x is a file");
    assert_eq!(fs::read(&x).unwrap(), b"layer bytes");
    env.ok(&["image", "unmount", "over"]);
    before.assert_unchanged(&env);
}

/// RUSTSEC-2021-0080 / CVE-2021-38511 (tar-rs <0.4.36): `s -> ..`, then `s/escape/foo/bar`;
/// tar-rs created `escape/foo` outside the destination before failing. berth refuses the
/// entry and no directory named `escape` appears anywhere (the store, the test dir, above).
#[test]
fn rustsec_2021_0080_a_refused_entry_creates_no_directory_outside() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    assert_refused(
        &env,
        &[
            ("s", Kind::Symlink("..".into())),
            ("s/escape/foo/bar", Kind::File(b"x")),
        ],
        "s/escape/foo/bar",
    );
    before.assert_unchanged(&env);
}

/// CVE-2026-33056 (tar-rs ≤0.4.44): `d -> /host/dir`, then a directory entry `d` (or `d/.`)
/// with mode 0777: the chmod followed the link. berth replaces the link by the directory
/// inside the rootfs; the host directory keeps mode and owner.
#[test]
fn cve_2026_33056_directory_entry_over_a_symlink_keeps_the_host_mode() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let host = canary(&env);
    let root = import_and_mount(
        &env,
        "dirs",
        &[
            ("d", Kind::Symlink(host.clone())),
            ("d", Kind::DirMode(0o777)),
            ("e", Kind::Symlink(host)),
            ("e/.", Kind::DirMode(0o777)),
        ],
    );
    for d in ["d", "e"] {
        let md = fs::symlink_metadata(Path::new(&root).join(d)).unwrap();
        assert!(md.is_dir(), "{d} is a directory inside the rootfs");
        assert_eq!(md.permissions().mode() & 0o7777, 0o777, "{d}");
    }
    env.ok(&["image", "unmount", "dirs"]);
    before.assert_unchanged(&env);
}

/// CVE-2021-32760 (containerd): pulling a crafted image changed modes of host files. Here
/// across two layers: the first plants links to the host file and dir, the second brings a
/// setuid file and a 0777 directory of the same names. Each layer is unpacked into its own
/// directory, so the second never sees the first's links; the host keeps its modes.
#[test]
fn cve_2021_32760_a_later_layer_does_not_chmod_through_an_earlier_link() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let host = canary(&env);
    let layer = |name: &str, entries: &[(&str, Kind)]| {
        let path = env.path(name);
        hostile_tar(&path, entries);
        fs::read(path).unwrap()
    };
    let links = layer(
        "links.tar",
        &[
            ("f", Kind::Symlink(format!("{host}/keep"))),
            ("d", Kind::Symlink(host)),
        ],
    );
    let modes = layer(
        "modes.tar",
        &[
            ("f", Kind::FileMode(b"second layer", 0o6777)),
            ("d", Kind::DirMode(0o777)),
        ],
    );
    let archive = docker_archive(&env, "chmod", &[links, modes], "/");
    env.ok(&["load", "-i", archive.to_str().unwrap()]);
    let root = env.ok(&["image", "mount", "chmod"]).trim().to_string();
    assert_eq!(
        fs::read(Path::new(&root).join("f")).unwrap(),
        b"second layer"
    );
    let d = fs::symlink_metadata(Path::new(&root).join("d")).unwrap();
    assert!(d.is_dir() && d.permissions().mode() & 0o7777 == 0o777);
    env.ok(&["image", "unmount", "chmod"]);
    before.assert_unchanged(&env);
}

/// CVE-2021-29136 (umoci): a layer whose entry `.` is a symlink to a host directory made the
/// next layers land on the host. berth refuses that entry (naming it) and writes nothing of
/// the layer above, whose file is named `pwned` so the canary check finds it anywhere.
#[test]
fn cve_2021_29136_a_root_symlink_in_a_lower_layer_is_refused() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let lower = env.path("lower.tar");
    hostile_tar(&lower, &[(".", Kind::Symlink(canary(&env)))]);
    let upper = env.path("upper.tar");
    hostile_tar(&upper, &[("pwned", Kind::File(b"x"))]);
    let layers = [fs::read(&lower).unwrap(), fs::read(&upper).unwrap()];
    let archive = docker_archive(&env, "rootlink", &layers, "/");
    let load = env.run(&["load", "-i", archive.to_str().unwrap()]);
    let err = if load.status.success() {
        env.fails(&["image", "mount", "rootlink"], 125)
    } else {
        String::from_utf8_lossy(&load.stderr).to_string()
    };
    assert!(err.contains("layer entry \".\""), "{err}");
    before.assert_unchanged(&env);
}

/// One 512-byte header block (a `name` up to 100 bytes, `size`, `kind`), checksummed.
fn header(name: &str, kind: tar::EntryType, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    crate::archives::raw_name(&mut h, name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// `data` padded with NULs to a whole number of blocks.
fn padded(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out.resize(data.len().div_ceil(512) * 512, 0);
    out
}

/// A PAX `x` header block and its body holding `key=value`.
fn pax(key: &str, value: &str) -> Vec<u8> {
    let body = berth_layers::pax::body(&[(key.into(), value.into())]);
    let mut out = header("PaxHeaders/x", tar::EntryType::XHeader, body.len() as u64);
    out.extend(padded(&body));
    out
}

/// A file entry `name` holding `data`.
fn file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = header(name, tar::EntryType::Regular, data.len() as u64);
    out.extend(padded(data));
    out
}

/// A GNU `L` header and its data: a long name for the next entry.
fn long_name() -> Vec<u8> {
    let long = format!("{}\0", "gnu-long-name-".repeat(8));
    let mut l = tar::Header::new_gnu();
    crate::archives::raw_name(&mut l, "././@LongLink");
    l.set_entry_type(tar::EntryType::GNULongName);
    l.set_size(long.len() as u64);
    l.set_mode(0o644);
    l.set_cksum();
    let mut out = l.as_bytes().to_vec();
    out.extend(padded(long.as_bytes()));
    out
}

/// The names GNU tar lists in `tar`, sorted.
fn gnu_tar_names(tar: &Path) -> Vec<String> {
    let out = run_tool(
        std::process::Command::new(require_tool("tar"))
            .arg("-tf")
            .arg(tar),
    );
    let mut names: Vec<String> = out.lines().map(|l| l.to_string()).collect();
    names.sort();
    names
}

/// CVE-2025-62518 ("TARmageddon"), CVE-2026-33055 and GHSA-3cv2-h65g-fgmm: a PAX `size`
/// that disagrees with the ustar size, or a PAX header followed by a GNU long-name header,
/// made Rust tar parsers see other entries than every other parser (file smuggling). berth
/// lists the same files GNU tar lists, or refuses the layer. (Before this test berth named a
/// file from a GNU long name where GNU tar and Python take the PAX `path`.)
#[test]
fn cve_2025_62518_pax_size_desync_reads_as_gnu_tar_reads_it() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let inner = file("smuggled", b"evil!");
    let end = vec![0u8; 1024];
    let cases: [(&str, Vec<u8>); 4] = [
        // ustar size 0, PAX size covering a tar entry hidden in the data.
        ("ustar-zero", {
            let mut t = pax("size", &inner.len().to_string());
            t.extend(header("outer", tar::EntryType::Regular, 0));
            t.extend(&inner);
            t
        }),
        // ustar size covering the hidden entry, PAX size 0.
        ("pax-zero", {
            let mut t = pax("size", "0");
            t.extend(header("outer", tar::EntryType::Regular, inner.len() as u64));
            t.extend(&inner);
            t
        }),
        // A PAX path, then a GNU long name, then the file both describe.
        ("pax-then-longname", {
            let mut t = pax("path", "pax-named");
            t.extend(long_name());
            t.extend(file("short", b"data"));
            t
        }),
        // The same in the other order.
        ("longname-then-pax", {
            let mut t = long_name();
            t.extend(pax("path", "pax-named"));
            t.extend(file("short", b"data"));
            t
        }),
    ];
    for (name, mut bytes) in cases {
        bytes.extend(&end);
        let path = env.path(&format!("{name}.tar"));
        fs::write(&path, &bytes).unwrap();
        let expected = gnu_tar_names(&path);
        let import = env.run(&["import", path.to_str().unwrap(), name]);
        if !import.status.success() {
            continue;
        }
        let mount = env.run(&["image", "mount", name]);
        if !mount.status.success() {
            continue;
        }
        let root = String::from_utf8_lossy(&mount.stdout).trim().to_string();
        let got: Vec<String> = tree_summary(Path::new(&root)).into_keys().collect();
        assert_eq!(got, expected, "{name}: berth and GNU tar see other entries");
        env.ok(&["image", "unmount", name]);
    }
    before.assert_unchanged(&env);
}

/// CVE-2021-20291 (containers/storage): a layer that is junk under a valid codec hung the
/// extractor. berth fails each within seconds with one line (the junk's bytes, newlines
/// included, never break it), records nothing and leaves the store clean.
#[test]
fn cve_2021_20291_junk_layers_fail_fast_in_one_line() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let junk: Vec<u8> = b"not a tar\n\x1b[31mline two\r\n".repeat(4096);
    let compress = |tool: &str, args: &[&str]| -> Vec<u8> {
        let mut child = std::process::Command::new(require_tool(tool))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = junk.clone();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        out.stdout
    };
    let cases = [
        ("plain", junk.clone()),
        ("gzip", compress("gzip", &["-c"])),
        ("zstd", compress("zstd", &["-q", "-c"])),
        ("xz", compress("xz", &["-c"])),
        ("bzip2", compress("bzip2", &["-c"])),
    ];
    for (codec, bytes) in cases {
        let path = env.path(&format!("junk-{codec}"));
        fs::write(&path, bytes).unwrap();
        let start = Instant::now();
        env.fails(&["import", path.to_str().unwrap(), "junk"], 125);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{codec}: took {:?}",
            start.elapsed()
        );
        assert_eq!(env.ok(&["images", "-q"]).trim(), "", "{codec}");
    }
    before.assert_unchanged(&env);
}

/// CVE-2023-25153 (containerd's OCI importer) and CVE-2020-1702 (containers/image): archive
/// documents read without a bound. berth refuses an index.json, a manifest blob and a
/// docker-archive manifest.json over its 8 MiB cap, naming them, without reading them whole.
#[test]
fn cve_2023_25153_oversized_archive_documents_are_refused() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let pad = |doc: &[u8]| -> Vec<u8> {
        let mut v = doc[..doc.len() - 1].to_vec();
        v.extend(std::iter::repeat_n(b' ', 9 << 20));
        v.push(doc[doc.len() - 1]);
        v
    };
    for (format, member) in [
        ("oci-archive", "index.json"),
        ("docker-archive", "manifest.json"),
    ] {
        let members: Vec<_> = saved_members(&env, format)
            .into_iter()
            .map(|(n, d)| if n == member { (n, pad(&d)) } else { (n, d) })
            .collect();
        let (other, err) = refused_load(&env, &members);
        assert!(
            err.contains(member) && err.contains("larger than 8388608 bytes"),
            "{format}: {err}"
        );
        other.assert_canary();
    }
    // A manifest blob the index names with its true digest and size.
    let mut members = saved_members(&env, "oci-archive");
    let index = members.iter().position(|(n, _)| n == "index.json").unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&members[index].1).unwrap();
    let old = doc["manifests"][0]["digest"].as_str().unwrap().to_string();
    let manifest = members
        .iter()
        .find(|(n, _)| *n == format!("blobs/sha256/{}", &old[7..]))
        .unwrap();
    let big = pad(&manifest.1);
    let digest = crate::registry_hostile::sha(&big);
    doc["manifests"][0]["digest"] = digest.clone().into();
    doc["manifests"][0]["size"] = big.len().into();
    members[index].1 = serde_json::to_vec(&doc).unwrap();
    members.push((format!("blobs/sha256/{}", &digest[7..]), big));
    let (other, err) = refused_load(&env, &members);
    assert!(
        err.contains(&digest) && err.contains("larger than 8388608 bytes"),
        "{err}"
    );
    other.assert_canary();
    before.assert_unchanged(&env);
}

/// CVE-2014-8179 (Docker): the digest was checked over one reading of a manifest and another
/// reading was used; duplicate keys are where two JSON readers disagree. A manifest with
/// `layers` twice (an empty list first) in an oci-archive is refused, nothing is recorded.
#[test]
fn cve_2014_8179_duplicate_keys_in_an_archived_manifest_are_refused() {
    let env = TestEnv::new();
    let before = HostState::of(&env);
    let mut members = saved_members(&env, "oci-archive");
    let index = members.iter().position(|(n, _)| n == "index.json").unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&members[index].1).unwrap();
    let old = doc["manifests"][0]["digest"].as_str().unwrap().to_string();
    let manifest = &members
        .iter()
        .find(|(n, _)| *n == format!("blobs/sha256/{}", &old[7..]))
        .unwrap()
        .1;
    let text = String::from_utf8(manifest.clone()).unwrap();
    assert!(text.contains("\"layers\":"), "{text}");
    let dup = text
        .replacen("\"layers\":", "\"layers\":[],\"layers\":", 1)
        .into_bytes();
    let digest = crate::registry_hostile::sha(&dup);
    doc["manifests"][0]["digest"] = digest.clone().into();
    doc["manifests"][0]["size"] = dup.len().into();
    members[index].1 = serde_json::to_vec(&doc).unwrap();
    members.push((format!("blobs/sha256/{}", &digest[7..]), dup));
    let (other, err) = refused_load(&env, &members);
    assert!(err.contains(&digest), "{err}");
    other.assert_canary();
    before.assert_unchanged(&env);
}
