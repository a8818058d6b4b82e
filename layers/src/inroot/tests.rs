use std::fs;
use std::os::unix::fs::symlink;

use super::*;

fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("victim"), b"").unwrap();
    fs::create_dir(outside.path().join("emptydir")).unwrap();
    (root, outside)
}

#[test]
fn resolve_follows_links_inside_the_root_only() {
    let (d, outside) = tree();
    let r = d.path();
    fs::create_dir_all(r.join("real/sub")).unwrap();
    fs::write(r.join("file"), b"x").unwrap();
    symlink("/real", r.join("abs")).unwrap();
    symlink("../../../real/sub", r.join("real/up")).unwrap();
    symlink(outside.path(), r.join("out")).unwrap();
    symlink("loop", r.join("loop")).unwrap();
    let root = InRoot::open(r).unwrap();
    let res = |p: &str, follow: bool| root.resolve(Path::new(p), follow).unwrap();
    assert_eq!(
        res("abs/sub", true),
        Resolved {
            path: "real/sub".into(),
            existing: 2
        }
    );
    assert_eq!(res("/real/up/x/y", true).path, Path::new("real/sub/x/y"));
    assert_eq!(res("/real/up/x/y", true).existing, 2);
    assert_eq!(
        res("real/up/x/y", true).first_missing(),
        Some(PathBuf::from("real/sub/x"))
    );
    // An absolute link restarts at the root: the host's directory is never looked at.
    let out = res("out/victim", true);
    assert_eq!(
        out.path,
        outside.path().strip_prefix("/").unwrap().join("victim")
    );
    assert_eq!(out.existing, 0);
    assert_eq!(res("/../../abs", true).path, Path::new("real"));
    // The last component is followed only when asked.
    assert_eq!(res("abs", false).path, Path::new("abs"));
    assert!(res("abs", false).exists());
    // Below a file: missing, kept as written; `..` still stops at the root.
    assert_eq!(res("file/x/../../..", true).path, Path::new(""));
    assert_eq!(res("file/x", true).existing, 1);
    let e = root.resolve(Path::new("loop/x"), true).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
    assert!(root.stat(Path::new("abs")).unwrap().is_some());
    assert!(root.stat(Path::new("out")).unwrap().is_none());
}

#[test]
fn exact_paths_never_pass_a_symlink() {
    let (d, outside) = tree();
    let r = d.path();
    symlink(outside.path(), r.join("m")).unwrap();
    symlink("/", r.join("rel")).unwrap();
    let root = InRoot::open(r).unwrap();
    for p in ["m/victim", "rel/victim", "m/emptydir"] {
        let e = root.lstat(Path::new(p)).unwrap_err();
        assert!(
            matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
            "{p}: {e}"
        );
        assert!(root.remove_file(Path::new(p)).is_err());
        assert!(root.remove_empty_dirs(Path::new(p)).is_err());
        assert!(root.open_dir(Path::new(p)).is_err());
    }
    // The link itself is seen and removed, not what it points to.
    let st = root.lstat(Path::new("m")).unwrap().unwrap();
    assert_eq!(st.kind, FileType::Symlink);
    assert_eq!(root.readlink(Path::new("m")).unwrap(), outside.path());
    assert!(!root.remove_empty_dirs(Path::new("m")).unwrap());
    root.remove_file(Path::new("m")).unwrap();
    assert!(outside.path().join("victim").exists());
    assert!(outside.path().join("emptydir").is_dir());
    assert!(root.lstat(Path::new("m/x")).unwrap().is_none());
    assert!(root.lstat(Path::new("..")).is_err());
}

#[test]
fn empty_directory_trees_go_and_others_stay() {
    let (d, outside) = tree();
    let r = d.path();
    fs::create_dir_all(r.join("a/b/c")).unwrap();
    fs::create_dir_all(r.join("k/empty")).unwrap();
    symlink(outside.path().join("emptydir"), r.join("k/link")).unwrap();
    fs::create_dir_all(r.join("f")).unwrap();
    fs::write(r.join("f/file"), b"").unwrap();
    let root = InRoot::open(r).unwrap();
    assert!(root.remove_empty_dirs(Path::new("a")).unwrap());
    assert!(!r.join("a").exists());
    assert!(!root.remove_empty_dirs(Path::new("k")).unwrap());
    assert!(!r.join("k/empty").exists(), "empty children go");
    assert!(outside.path().join("emptydir").is_dir());
    assert!(!root.remove_empty_dirs(Path::new("f")).unwrap());
    assert!(r.join("f/file").exists());
    let top = root.remove_empty_dirs(Path::new("/")).unwrap_err();
    assert_eq!(top.kind(), io::ErrorKind::InvalidInput);
    assert!(root.lstat(Path::new("")).unwrap().is_some());
    let names: Vec<_> = read_dir_at(root.open_dir(Path::new("/")).unwrap().as_fd())
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n.into_string().unwrap(), t))
        .collect();
    assert_eq!(
        names,
        [
            ("f".to_string(), FileType::Directory),
            ("k".to_string(), FileType::Directory)
        ]
    );
}
