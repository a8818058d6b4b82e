//! The writer against hostile trees: every write stays inside the root, refusals name the
//! path.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

use super::*;

struct Scratch {
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            root: tempfile::tempdir().unwrap(),
            outside: tempfile::tempdir().unwrap(),
        };
        fs::write(s.outside.path().join("victim"), b"host").unwrap();
        fs::create_dir(s.outside.path().join("dir")).unwrap();
        s
    }

    fn r(&self) -> &Path {
        self.root.path()
    }

    fn writer(&self) -> RootWriter {
        RootWriter::open(self.r()).unwrap()
    }

    /// Nothing outside the root changed.
    fn assert_outside_intact(&self) {
        let o = self.outside.path();
        assert_eq!(fs::read(o.join("victim")).unwrap(), b"host");
        let names: Vec<_> = fs::read_dir(o)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(fs::read_dir(o.join("dir")).unwrap().count(), 0);
        assert_eq!(
            fs::metadata(o.join("victim")).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
}

fn refused(e: WriteError, path: &str, word: &str) {
    let msg = e.to_string();
    assert!(matches!(e, WriteError::Refused { .. }), "{msg}");
    assert!(msg.contains(path) && msg.contains(word), "{msg}");
}

#[test]
fn a_symlink_parent_is_refused_never_followed() {
    let s = Scratch::new();
    symlink(s.outside.path(), s.r().join("abs")).unwrap();
    symlink("../../../..", s.r().join("up")).unwrap();
    symlink("real", s.r().join("rel")).unwrap();
    fs::create_dir(s.r().join("real")).unwrap();
    let mut w = s.writer();
    for link in ["abs", "up", "rel"] {
        let p = PathBuf::from(link).join("victim");
        refused(w.create_file(&p).unwrap_err(), link, "symlink");
        refused(w.mkdirs(&p, 0o755).unwrap_err(), link, "symlink");
        refused(w.symlink(&p, Path::new("/x")).unwrap_err(), link, "symlink");
        refused(w.lstat(&p).unwrap_err(), link, "symlink");
        refused(
            w.mknod(&p, Special::Fifo, 0o644).unwrap_err(),
            link,
            "symlink",
        );
        let attrs = Attrs {
            mode: Some(0o777),
            mtime: Some(1),
            ..Attrs::default()
        };
        refused(w.set_attrs(&p, false, &attrs).unwrap_err(), link, "symlink");
        refused(
            w.remove(&p, FileType::RegularFile).unwrap_err(),
            link,
            "symlink",
        );
        let nested = PathBuf::from(link).join("dir/deeper/f");
        refused(w.create_file(&nested).unwrap_err(), link, "symlink");
    }
    // A file on the way is no directory either.
    fs::write(s.r().join("file"), b"").unwrap();
    refused(
        w.create_file(Path::new("file/x")).unwrap_err(),
        "file",
        "not a directory",
    );
    assert!(fs::read_dir(s.r().join("real")).unwrap().next().is_none());
    s.assert_outside_intact();
}

#[test]
fn dotdot_is_refused_and_absolute_paths_stay_inside() {
    let s = Scratch::new();
    let mut w = s.writer();
    for p in ["../x", "a/../../x", "a/.."] {
        let e = w.create_file(Path::new(p)).unwrap_err();
        assert!(e.to_string().contains(".."), "{e}");
        assert!(w.mkdirs(Path::new(p), 0o755).is_err());
    }
    // A leading '/' is the root's own.
    w.mkdirs(Path::new("/etc"), 0o755).unwrap();
    let mut f = w.create_file(Path::new("/etc/passwd")).unwrap();
    w.write_content(&mut f, Path::new("etc/passwd"), &mut &b"root"[..])
        .unwrap();
    assert_eq!(fs::read(s.r().join("etc/passwd")).unwrap(), b"root");
    assert!(matches!(
        w.create_file(Path::new("/")).unwrap_err(),
        WriteError::Refused { .. }
    ));
    assert_eq!(
        entry_path(b"/etc/../x"),
        Err("name contains a '..' component: refused".into())
    );
    assert_eq!(entry_path(b"./a//b/").unwrap(), Some(PathBuf::from("a/b")));
    assert_eq!(entry_path(b"./").unwrap(), None);
    assert_eq!(entry_path(b"/etc/x").unwrap(), Some(PathBuf::from("etc/x")));
    assert!(entry_path(b"a/../../x").is_err());
    s.assert_outside_intact();
}

#[test]
fn absolute_symlink_targets_are_written_as_is_and_never_followed() {
    let s = Scratch::new();
    let mut w = s.writer();
    let victim = s.outside.path().join("victim");
    w.symlink(Path::new("l"), &victim).unwrap();
    assert_eq!(fs::read_link(s.r().join("l")).unwrap(), victim);
    // Creating a file over the link fails (O_EXCL|O_NOFOLLOW) instead of writing through it.
    let e = w.create_file(Path::new("l")).unwrap_err();
    assert_eq!(e.errno(), Some(libc::EEXIST), "{e}");
    // Metadata on the link changes the link, not the host file.
    let attrs = Attrs {
        mtime: Some(1_000_000),
        mode: Some(0o777),
        ..Attrs::default()
    };
    w.set_attrs(Path::new("l"), true, &attrs).unwrap();
    assert_eq!(
        fs::symlink_metadata(s.r().join("l")).unwrap().mtime(),
        1_000_000
    );
    // Told it is not a symlink, the mode is still never set through one.
    refused(
        w.set_attrs(Path::new("l"), false, &attrs).unwrap_err(),
        "l",
        "symlink",
    );
    // Replaced: removed as a link.
    w.remove(Path::new("l"), FileType::Symlink).unwrap();
    w.create_file(Path::new("l")).unwrap();
    assert!(fs::symlink_metadata(s.r().join("l")).unwrap().is_file());
    s.assert_outside_intact();
}

#[test]
fn a_directory_is_replaced_by_a_file_and_held_descriptors_are_dropped() {
    let s = Scratch::new();
    let mut w = s.writer();
    w.mkdirs(Path::new("a/b/c"), 0o755).unwrap();
    w.create_file(Path::new("a/b/c/f")).unwrap();
    // A link inside the tree to outside: removing the tree removes the link only.
    w.symlink(Path::new("a/b/out"), s.outside.path()).unwrap();
    let kind = w.lstat(Path::new("a/b")).unwrap().unwrap().kind;
    assert_eq!(kind, FileType::Directory);
    w.remove(Path::new("a/b"), kind).unwrap();
    let mut f = w.create_file(Path::new("a/b")).unwrap();
    w.write_content(&mut f, Path::new("a/b"), &mut &b"file"[..])
        .unwrap();
    assert_eq!(fs::read(s.r().join("a/b")).unwrap(), b"file");
    // The old directory's descriptor is not reused: a/b is a file now.
    refused(
        w.create_file(Path::new("a/b/c/g")).unwrap_err(),
        "a/b",
        "not a directory",
    );
    // And a file replaced by a directory.
    w.remove(Path::new("a/b"), FileType::RegularFile).unwrap();
    assert_eq!(w.mkdirs(Path::new("a/b/c"), 0o755).unwrap(), 2);
    assert!(s.r().join("a/b/c").is_dir());
    s.assert_outside_intact();
}

#[test]
fn hardlinks_reach_inside_the_root_only() {
    let s = Scratch::new();
    symlink(s.outside.path(), s.r().join("out")).unwrap();
    symlink("/", s.r().join("top")).unwrap();
    fs::create_dir(s.r().join("etc")).unwrap();
    fs::write(s.r().join("etc/inside"), b"in").unwrap();
    symlink("inside", s.r().join("etc/link")).unwrap();
    let mut w = s.writer();
    // The host's file is out of reach: the absolute link resolves inside the root.
    let e = w
        .hardlink_target(Path::new("h1"), Path::new("out/victim"))
        .unwrap_err();
    refused(e, "out/victim", "does not exist");
    let e = w
        .hardlink_target(Path::new("h2"), &s.outside.path().join("victim"))
        .unwrap_err();
    refused(e, "victim", "does not exist");
    refused(
        w.hardlink_target(Path::new("h3"), Path::new("etc/link"))
            .unwrap_err(),
        "etc/link",
        "symlink",
    );
    refused(
        w.hardlink_target(Path::new("h4"), Path::new("etc"))
            .unwrap_err(),
        "etc",
        "directory",
    );
    // '..' stops at the top, as in the container (callers refuse it in names before).
    let t = w
        .hardlink_target(Path::new("h5"), Path::new("../../etc/inside"))
        .unwrap()
        .unwrap();
    w.hardlink(Path::new("h5"), &t).unwrap();
    assert_eq!(fs::read(s.r().join("h5")).unwrap(), b"in");
    // Through a symlink inside the root: the file inside.
    let t = w
        .hardlink_target(Path::new("h6"), Path::new("top/etc/inside"))
        .unwrap()
        .unwrap();
    w.hardlink(Path::new("h6"), &t).unwrap();
    let (a, b) = (
        fs::metadata(s.r().join("h6")).unwrap(),
        fs::metadata(s.r().join("etc/inside")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 3));
    // A link to itself is nothing to do.
    assert!(w
        .hardlink_target(Path::new("etc/inside"), Path::new("/etc/inside"))
        .unwrap()
        .is_none());
    for h in ["h1", "h2", "h3", "h4"] {
        assert!(fs::symlink_metadata(s.r().join(h)).is_err(), "{h}");
    }
    s.assert_outside_intact();
}

#[test]
fn metadata_and_special_files_land_on_the_entry() {
    let s = Scratch::new();
    let mut w = s.writer();
    w.mkdirs(Path::new("d"), 0o755).unwrap();
    w.mknod(Path::new("d/fifo"), Special::Fifo, 0o640).unwrap();
    let attrs = Attrs {
        mode: Some(0o4751),
        mtime: Some(1_234_567),
        ..Attrs::default()
    };
    w.set_attrs(Path::new("d/fifo"), false, &attrs).unwrap();
    let m = fs::symlink_metadata(s.r().join("d/fifo")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o4751, 1_234_567));
    let f = w.create_file(Path::new("d/f")).unwrap();
    w.set_file_attrs(&f, Path::new("d/f"), &attrs).unwrap();
    let m = fs::metadata(s.r().join("d/f")).unwrap();
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o4751, 1_234_567));
    // An entry whose parent is missing is an error naming it, not a silent mkdir.
    let e = w.create_file(Path::new("nope/f")).unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    assert!(w.lstat(Path::new("nope/f")).unwrap().is_none());
    assert!(!w.dirs_exist(Path::new("nope")).unwrap());
}

#[test]
fn deep_paths_do_not_hold_a_descriptor_per_level() {
    let s = Scratch::new();
    let mut w = s.writer();
    let deep: PathBuf = (0..3 * MAX_OPEN).map(|i| format!("d{i}")).collect();
    assert_eq!(w.mkdirs(&deep, 0o755).unwrap(), 3 * MAX_OPEN);
    assert!(w.chain.iter().filter(|(_, fd)| fd.is_some()).count() <= MAX_OPEN + 1);
    // A sibling deep down is reached again from the deepest open level.
    let sibling = deep.parent().unwrap().join("other");
    w.create_file(&sibling.join("f")).unwrap_err();
    w.mkdirs(&sibling, 0o755).unwrap();
    w.create_file(&sibling.join("f")).unwrap();
    assert!(s.r().join(&sibling).join("f").is_file());
}
