//! `--device HOST[:CONTAINER][:PERMISSIONS]`, as Podman 4.3 parses it: the host node is looked
//! up when the container is created (its type and numbers go into the spec: a device node
//! and a cgroup rule as root, a bind mount of the node rootless, where no node can be made).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::error::{Result, RunError};

/// One `--device`, with the host node it names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceSpec {
    /// The host's node.
    pub host: String,
    /// Where it appears in the container (default: the host path).
    pub container: String,
    /// Cgroup access: some of `r`, `w`, `m` (default `rwm`).
    pub permissions: String,
    /// `c` or `b`.
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    /// The node's permission bits on the host.
    pub mode: u32,
}

/// Whether `s` is a device permission string (Podman's `IsValidDeviceMode`).
fn valid_mode(s: &str) -> bool {
    if s.is_empty() || s.len() > 3 {
        return false;
    }
    let mut seen = [false; 3];
    s.chars().all(|c| {
        let i = match c {
            'r' => 0,
            'w' => 1,
            'm' => 2,
            _ => return false,
        };
        !std::mem::replace(&mut seen[i], true)
    })
}

/// Split a `--device` value into host path, container path and permissions, as Podman's
/// `ParseDevice`.
pub fn split_device(s: &str) -> Result<(String, String, String)> {
    let invalid = |m: &str| RunError::Invalid(format!("invalid device mode: {m}"));
    let parts: Vec<&str> = s.split(':').collect();
    let mut permissions = "rwm".to_string();
    let mut dst = String::new();
    match parts.len() {
        1..=3 => {
            if let Some(p) = parts.get(2) {
                if !valid_mode(p) {
                    return Err(invalid(p));
                }
                permissions = p.to_string();
            }
            if let Some(p) = parts.get(1) {
                if valid_mode(p) {
                    permissions = p.to_string();
                } else if p.starts_with('/') {
                    dst = p.to_string();
                } else {
                    return Err(invalid(p));
                }
            }
        }
        _ => {
            return Err(RunError::Invalid(format!(
                "invalid device specification: {s}"
            )))
        }
    }
    let src = parts[0].to_string();
    if dst.is_empty() {
        dst = src.clone();
    }
    Ok((src, dst, permissions))
}

/// An OS error as Go prints it (`no such file or directory`), for Podman's wording.
fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl DeviceSpec {
    /// Parse a `--device` value and look its host node up.
    pub fn parse(s: &str) -> Result<DeviceSpec> {
        let (host, container, permissions) = split_device(s)?;
        let meta = std::fs::metadata(&host)
            .map_err(|e| RunError::Invalid(format!("stat {host}: {}", go_error_text(&e))))?;
        let kind = if meta.file_type().is_char_device() {
            'c'
        } else if meta.file_type().is_block_device() {
            'b'
        } else {
            return Err(RunError::Invalid(format!(
                "{host} is not a device node: --device takes a character or block device"
            )));
        };
        super::volume::check_container_path("device destination", &container)?;
        let rdev = meta.rdev();
        Ok(DeviceSpec {
            host,
            container,
            permissions,
            kind,
            major: i64::from(rustix::fs::major(rdev)),
            minor: i64::from(rustix::fs::minor(rdev)),
            mode: meta.mode() & 0o7777,
        })
    }

    /// The host node, as a path.
    pub fn host_path(&self) -> &Path {
        Path::new(&self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_device_syntax() {
        let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            split_device("/dev/null").unwrap(),
            s("/dev/null", "/dev/null", "rwm")
        );
        assert_eq!(
            split_device("/dev/null:r").unwrap(),
            s("/dev/null", "/dev/null", "r")
        );
        assert_eq!(
            split_device("/dev/null:/dev/n:rw").unwrap(),
            s("/dev/null", "/dev/n", "rw")
        );
        let err = |v: &str| split_device(v).unwrap_err().to_string();
        assert_eq!(err("/dev/null:rel"), "invalid device mode: rel");
        assert_eq!(err("/dev/null:/dev/n:xyz"), "invalid device mode: xyz");
        assert_eq!(err("/dev/null:/dev/n:rr"), "invalid device mode: rr");
        assert!(err("a:b:c:d").starts_with("invalid device specification"));
    }

    #[test]
    fn host_nodes() {
        let d = DeviceSpec::parse("/dev/null:/dev/mynull:rw").unwrap();
        assert_eq!((d.kind, d.major, d.minor), ('c', 1, 3));
        assert_eq!(d.container, "/dev/mynull");
        assert_eq!(
            DeviceSpec::parse("/dev/nonexist-berth")
                .unwrap_err()
                .to_string(),
            "stat /dev/nonexist-berth: no such file or directory"
        );
        assert!(DeviceSpec::parse("/etc/hostname").is_err());
    }
}
