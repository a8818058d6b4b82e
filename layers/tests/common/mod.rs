//! Helpers shared by the integration tests: raw tar building and tree comparison.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// One raw tar entry with the name written straight into the header bytes (so `..` and
/// absolute names are possible).
pub fn raw_entry(name: &[u8], kind: u8, data: &[u8], link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    {
        let u = h.as_ustar_mut().unwrap();
        u.name[..name.len()].copy_from_slice(name);
        u.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mode(if kind == b'5' { 0o755 } else { 0o644 });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_000_000);
    h.set_size(data.len() as u64);
    if kind == b'3' || kind == b'4' {
        h.set_device_major(8).unwrap();
        h.set_device_minor(0).unwrap();
    }
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    let rem = data.len() % 512;
    if rem != 0 {
        out.extend(std::iter::repeat_n(0u8, 512 - rem));
    }
    out
}

/// A header-only entry whose size field claims `size` bytes (no data follows).
pub fn header_only(name: &[u8], kind: u8, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.as_ustar_mut().unwrap().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mode(0o644);
    h.set_size(size);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// Concatenate entries and the end-of-archive blocks.
pub fn tarball(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// A scratch area with `root/` (the target) and `outside/` holding a canary file.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("root")).unwrap();
        fs::create_dir(dir.path().join("outside")).unwrap();
        fs::write(dir.path().join("outside/canary"), b"keep").unwrap();
        Scratch { dir }
    }
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    pub fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
    /// The canary is untouched and nothing else appeared next to root or in outside.
    pub fn assert_canary(&self) {
        let mut top: Vec<_> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        top.sort();
        assert_eq!(top, vec!["outside", "root"]);
        let inside: Vec<_> = fs::read_dir(self.outside())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(inside, vec!["canary"]);
        let m = fs::symlink_metadata(self.outside().join("canary")).unwrap();
        assert!(m.file_type().is_file());
        assert_eq!(m.nlink(), 1, "canary gained a hardlink");
        assert_eq!(fs::read(self.outside().join("canary")).unwrap(), b"keep");
    }
}

/// What the tests compare per path.
#[derive(Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Option<i64>,
    pub content: Option<Vec<u8>>,
    pub target: Option<PathBuf>,
    pub rdev: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// A map of relative path → node for a whole tree (not following symlinks).
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_file() {
            "file"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "other"
        };
        let mut xattrs: Vec<(String, Vec<u8>)> = if ft.is_symlink() {
            Vec::new()
        } else {
            xattr::list(&p)
                .unwrap()
                .map(|n| {
                    let v = xattr::get(&p, &n).unwrap().unwrap_or_default();
                    (n.into_string().unwrap(), v)
                })
                .filter(|(n, _)| !n.starts_with("security."))
                .collect()
        };
        xattrs.sort();
        out.insert(
            p.strip_prefix(root).unwrap().to_path_buf(),
            Node {
                kind: kind.into(),
                mode: if ft.is_symlink() {
                    0
                } else {
                    m.mode() & 0o7777
                },
                uid: m.uid(),
                gid: m.gid(),
                mtime: if ft.is_symlink() {
                    None
                } else {
                    Some(m.mtime())
                },
                content: if ft.is_file() {
                    Some(fs::read(&p).unwrap())
                } else {
                    None
                },
                target: if ft.is_symlink() {
                    Some(fs::read_link(&p).unwrap())
                } else {
                    None
                },
                rdev: m.rdev(),
                xattrs,
            },
        );
        if ft.is_dir() {
            walk(root, &p, out);
        }
    }
}

/// Make a character or block device or FIFO at `path`.
pub fn mknod(path: &Path, kind: rustix::fs::FileType, mode: u32, major: u32, minor: u32) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        kind,
        rustix::fs::Mode::from_raw_mode(mode),
        rustix::fs::makedev(major, minor),
    )
    .unwrap();
}

/// Set a path's mtime (seconds), not following symlinks.
pub fn set_mtime(path: &Path, secs: i64) {
    let t = rustix::fs::Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &rustix::fs::Timestamps {
            last_access: t,
            last_modification: t,
        },
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}
