//! The host's cgroup file systems as `/proc/self/mountinfo` lists them: each v1 hierarchy or
//! the v2 unified one, with its controllers; whether the host is pure cgroup v2. Read by
//! `spec::cgroup` (a container's own view of `/sys/fs/cgroup`), `stats`, and (a process's cgroup
//! directory for one controller, `controller_dir`) `freezer` and `oom`.

use std::path::{Path, PathBuf};

/// Whether the host has a pure cgroup v2 hierarchy at `/sys/fs/cgroup`.
pub fn cgroup2_unified() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// A cgroup mount: the hierarchy's root inside the filesystem, and where it is mounted.
pub(crate) struct CgroupMount {
    pub(crate) root: String,
    pub(crate) point: PathBuf,
    /// v1 controllers (super options), empty for cgroup2.
    pub(crate) controllers: Vec<String>,
    pub(crate) v2: bool,
}

/// Unescape the octal escapes (`\040`) of a mountinfo path.
pub(crate) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let digits = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            let fstype = *r.first()?;
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if v2 {
                Vec::new()
            } else {
                r.get(2)?.split(',').map(str::to_string).collect()
            };
            Some(CgroupMount {
                root: unescape(l.get(3)?),
                point: PathBuf::from(unescape(l.get(4)?)),
                controllers,
                v2,
            })
        })
        .collect()
}

/// `mount.point` + (`path` relative to the mount's root), when `path` is under that root.
pub(crate) fn under(mount: &CgroupMount, path: &str) -> Option<PathBuf> {
    let rel = if mount.root == "/" {
        path.trim_start_matches('/')
    } else {
        let rest = path.strip_prefix(mount.root.as_str())?;
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        rest.trim_start_matches('/')
    };
    Some(if rel.is_empty() {
        mount.point.clone()
    } else {
        mount.point.join(rel)
    })
}

/// A process's cgroup directory for one controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ControllerDir {
    /// In the v1 hierarchy that holds the controller.
    V1(PathBuf),
    /// The v2 cgroup.
    V2(PathBuf),
}

/// From a `/proc/<pid>/cgroup` text and a `/proc/self/mountinfo` text: the process's cgroup
/// in the v1 hierarchy of `controller` first, else its v2 cgroup; never a hierarchy's root.
pub(crate) fn controller_dir(
    proc_cgroup: &str,
    mountinfo: &str,
    controller: &str,
) -> Option<ControllerDir> {
    let mounts = cgroup_mounts(mountinfo);
    let mut v2 = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == controller) {
            let m = mounts
                .iter()
                .find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller))?;
            if path != "/" {
                return under(m, path).map(ControllerDir::V1);
            }
        } else if controllers.is_empty() && path != "/" {
            v2 = mounts
                .iter()
                .find(|m| m.v2)
                .and_then(|m| under(m, path))
                .map(ControllerDir::V2);
        }
    }
    v2
}
