//! `-u user[:group]` → numeric ids, resolved from the image's own `/etc/passwd` and
//! `/etc/group`.
//!
//! The files are opened relative to the rootfs with `openat2(RESOLVE_IN_ROOT)`, so no path
//! component can lead outside it; the last component must not be a symlink, the file must be
//! regular and at most [`MAX_DB_FILE`] bytes. Anything else is refused with an error naming
//! the file: an image whose `/etc/passwd` points at a host file never makes berth read it.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::error::{Result, RunError};

/// The largest `/etc/passwd` or `/etc/group` berth reads.
pub const MAX_DB_FILE: u64 = 4 * 1024 * 1024;

/// A resolved user: what goes into the spec's `process.user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups from `/etc/group` (for a named user without an explicit group).
    pub additional_gids: Vec<u32>,
    /// The home directory, if the user is in `/etc/passwd` (for `HOME`).
    pub home: Option<String>,
}

/// Resolve `spec` (`""`, `user`, `uid`, `user:group`, `uid:gid`) inside `rootfs`.
///
/// Numeric ids need no files; names are looked up in the image's files. An empty spec is
/// root (uid 0, gid 0).
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<ResolvedUser> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let mut passwd: Option<Vec<PasswdEntry>> = None;
    let mut load_passwd = || -> Result<Vec<PasswdEntry>> {
        if let Some(p) = &passwd {
            return Ok(p.clone());
        }
        let text = read_in_root(rootfs, "etc/passwd")?;
        let parsed = parse_passwd(&text);
        passwd = Some(parsed.clone());
        Ok(parsed)
    };
    let (uid, mut gid, name, home) = match user.parse::<u32>() {
        Ok(uid) => {
            // A numeric uid need not exist; use its passwd entry when there is one.
            // An unreadable or refused file only means no entry: the number stands alone.
            let entry = match read_in_root_optional(rootfs, "etc/passwd") {
                Ok(Some(text)) => parse_passwd(&text).into_iter().find(|e| e.uid == uid),
                _ => None,
            };
            match entry {
                Some(e) => (uid, e.gid, Some(e.name), Some(e.home)),
                None => (uid, 0, None, None),
            }
        }
        Err(_) => {
            check_name(user)?;
            let entry = load_passwd()?
                .into_iter()
                .find(|e| e.name == user)
                .ok_or_else(|| {
                    RunError::Invalid(format!(
                        "unable to find user {user}: no matching entries in the image's /etc/passwd"
                    ))
                })?;
            (entry.uid, entry.gid, Some(entry.name), Some(entry.home))
        }
    };
    let mut additional_gids = Vec::new();
    match group {
        Some(g) if !g.is_empty() => {
            gid = group_id(rootfs, g)?;
        }
        _ => {
            if let Some(name) = &name {
                if let Ok(Some(text)) = read_in_root_optional(rootfs, "etc/group") {
                    additional_gids = parse_group(&text)
                        .into_iter()
                        .filter(|e| e.gid != gid && e.members.iter().any(|m| m == name))
                        .map(|e| e.gid)
                        .collect();
                }
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

/// A group by number, or by name from the image's `/etc/group` (`-u user:group`,
/// `--group-add`).
pub fn group_id(rootfs: &Path, g: &str) -> Result<u32> {
    if let Ok(n) = g.parse::<u32>() {
        return Ok(n);
    }
    check_name(g)?;
    let text = read_in_root(rootfs, "etc/group")?;
    parse_group(&text)
        .into_iter()
        .find(|e| e.name == g)
        .map(|e| e.gid)
        .ok_or_else(|| {
            RunError::Invalid(format!(
                "unable to find group {g}: no matching entries in the image's /etc/group"
            ))
        })
}

fn check_name(name: &str) -> Result<()> {
    if name.contains(['\n', '\0', '/']) || name.len() > 256 {
        return Err(RunError::Invalid(format!(
            "invalid user or group name {name:?}"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// Read `rel` (e.g. `etc/passwd`) inside `rootfs`, refusing symlinks, non-regular files and
/// files over [`MAX_DB_FILE`].
pub fn read_in_root(rootfs: &Path, rel: &str) -> Result<String> {
    read_in_root_optional(rootfs, rel)?.ok_or_else(|| RunError::Rootfs {
        path: format!("/{rel}"),
        reason: "not found in the image".to_string(),
    })
}

/// As [`read_in_root`], with `None` for a file that does not exist.
pub fn read_in_root_optional(rootfs: &Path, rel: &str) -> Result<Option<String>> {
    let shown = format!("/{rel}");
    let refuse = |reason: String| RunError::Rootfs {
        path: shown.clone(),
        reason,
    };
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RunError::io(rootfs, e.into()))?;
    let fd = match rustix::fs::openat2(
        &root,
        rel,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(refuse(
                "is a symlink in the image; refusing to follow it".to_string(),
            ))
        }
        Err(rustix::io::Errno::XDEV) => {
            return Err(refuse(
                "crosses a mount point in the image; refusing to read it".to_string(),
            ))
        }
        Err(e) => return Err(refuse(format!("cannot open: {e}"))),
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| refuse(format!("cannot stat: {e}")))?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(refuse(
            "is not a regular file; refusing to read it".to_string(),
        ));
    }
    if st.st_size as u64 > MAX_DB_FILE {
        return Err(refuse(format!(
            "is {} bytes, over berth's {MAX_DB_FILE} byte limit",
            st.st_size
        )));
    }
    let mut text = String::new();
    File::from(fd)
        .take(MAX_DB_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| refuse(format!("cannot read: {e}")))?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nnogroup:x:65534:\nalice:x:1000:\nwheel:x:10:alice\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn names_and_numbers() {
        let d = rootfs();
        let u = resolve_user(d.path(), "nobody").unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65534));
        let u = resolve_user(d.path(), "alice").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (1000, 1000, vec![10])
        );
        assert_eq!(u.home.as_deref(), Some("/home/alice"));
        let u = resolve_user(d.path(), "1234:wheel").unwrap();
        assert_eq!((u.uid, u.gid), (1234, 10));
        let u = resolve_user(d.path(), "").unwrap();
        assert_eq!((u.uid, u.gid), (0, 0));
        assert!(resolve_user(d.path(), "mallory").is_err());
        assert!(resolve_user(d.path(), "alice:nosuch").is_err());
    }

    #[test]
    fn symlinked_passwd_is_refused() {
        let d = rootfs();
        let host = tempfile::tempdir().unwrap();
        fs::write(
            host.path().join("passwd"),
            "someuser:x:4242:4242::/:/bin/sh\n",
        )
        .unwrap();
        fs::remove_file(d.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink(host.path().join("passwd"), d.path().join("etc/passwd"))
            .unwrap();
        let err = resolve_user(d.path(), "someuser").unwrap_err().to_string();
        assert!(
            err.contains("/etc/passwd") && err.contains("symlink"),
            "{err}"
        );
    }

    #[test]
    fn symlinked_etc_stays_in_root() {
        let d = rootfs();
        let host = tempfile::tempdir().unwrap();
        fs::create_dir(host.path().join("etc")).unwrap();
        fs::write(
            host.path().join("etc/passwd"),
            "someuser:x:4242:4242::/:/bin/sh\n",
        )
        .unwrap();
        fs::remove_dir_all(d.path().join("etc")).unwrap();
        std::os::unix::fs::symlink(host.path().join("etc"), d.path().join("etc")).unwrap();
        // The link resolves inside the rootfs, where there is no such file.
        let err = resolve_user(d.path(), "someuser").unwrap_err().to_string();
        assert!(err.contains("/etc/passwd"), "{err}");
    }

    #[test]
    fn fifo_and_huge_files_are_refused() {
        let d = rootfs();
        fs::remove_file(d.path().join("etc/group")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            d.path().join("etc/group").as_path(),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let err = resolve_user(d.path(), "root:wheel")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let f = fs::File::create(d.path().join("etc/passwd")).unwrap();
        f.set_len(MAX_DB_FILE + 1).unwrap();
        let err = resolve_user(d.path(), "nobody").unwrap_err().to_string();
        assert!(err.contains("limit"), "{err}");
    }
}
