//! Extended attributes in `cp`: read from the source inode, carried in the tar stream as PAX
//! `SCHILY.xattr.NAME` records (as GNU tar and Podman's copier write them), and set on what
//! is extracted.
//!
//! What crosses:
//! - what travels into layers too ([`berth_layers::xattrs::travels`]: not overlayfs' own
//!   attributes nor SELinux labels);
//! - onto the host only the `user.*` namespace: a container's file capabilities
//!   (`security.capability`) and `trusted.*` attributes are dropped there, as its set-id bits
//!   are;
//! - attributes the destination's file system or the caller's privileges refuse (a rootless
//!   caller cannot set `trusted.*`) are skipped with a debug line, as Podman's copier skips
//!   them;
//! - an attribute whose value or name holds a newline (or whose name holds `=`) is left out
//!   with a warning: the `tar` crate's reader, which extracts cp's streams, splits PAX records
//!   at newlines, so such a record would be misread, and a crafted one would even be read as
//!   another record (a `linkpath`, say). For the same reason a stream whose PAX records the
//!   reader cannot frame is refused, not half read. (Layers read records by their length,
//!   `berth_layers::pax`.)
//!
//! Only regular files and directories carry attributes here (Linux allows no `user.*` on
//! symlinks).

use std::io;
use std::os::fd::AsRawFd;

use berth_layers::xattrs::travels;

/// Attribute names and values, sorted by name.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

const PAX_PREFIX: &str = "SCHILY.xattr.";

/// Which attributes an extraction sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrPolicy {
    /// Every attribute that crosses at all (into a container or a volume).
    Keep,
    /// The `user.*` namespace only (onto the host).
    UserOnly,
}

impl XattrPolicy {
    fn allows(self, name: &[u8]) -> bool {
        travels(name) && (self == XattrPolicy::Keep || name.starts_with(b"user."))
    }
}

/// The attributes of the inode `fd` refers to (an `O_PATH` descriptor is enough), read
/// through its `/proc/self/fd` link, which names that inode and nothing else.
pub(crate) fn read(fd: &impl AsRawFd) -> io::Result<Xattrs> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    berth_layers::xattrs::read(std::path::Path::new(&path), true)
}

/// The PAX records for `attrs` (names that are not UTF-8 cannot be PAX keys: left out).
/// Names or values with a newline, and names with `=`, are left out (see the module's doc),
/// with a warning naming `shown`.
pub(crate) fn pax_records<'a>(attrs: &'a Xattrs, shown: &str) -> Vec<(String, &'a [u8])> {
    attrs
        .iter()
        .filter_map(|(k, v)| {
            let k = std::str::from_utf8(k).ok()?;
            if v.contains(&b'\n') || k.contains(['\n', '=']) {
                tracing::warn!(
                    path = shown,
                    xattr = k,
                    "xattr with a newline or '=': not copied"
                );
                return None;
            }
            Some((format!("{PAX_PREFIX}{k}"), v.as_slice()))
        })
        .collect()
}

/// The attributes a tar entry carries that `policy` lets through.
pub(crate) fn from_entry<R: io::Read>(
    e: &mut tar::Entry<'_, R>,
    policy: XattrPolicy,
) -> io::Result<Xattrs> {
    let mut out = Vec::new();
    if let Some(exts) = e.pax_extensions()? {
        for ext in exts {
            let ext = ext.map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("PAX header: {e} (a value holding a newline?)"),
                )
            })?;
            let Some(name) = ext.key_bytes().strip_prefix(PAX_PREFIX.as_bytes()) else {
                continue;
            };
            if policy.allows(name) {
                out.push((name.to_vec(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_crosses_and_where() {
        for name in [
            &b"trusted.overlay.opaque"[..],
            b"user.overlay.origin",
            b"security.selinux",
        ] {
            assert!(!XattrPolicy::Keep.allows(name));
        }
        assert!(XattrPolicy::Keep.allows(b"security.capability"));
        assert!(XattrPolicy::Keep.allows(b"trusted.x"));
        assert!(!XattrPolicy::UserOnly.allows(b"security.capability"));
        assert!(!XattrPolicy::UserOnly.allows(b"trusted.x"));
        assert!(XattrPolicy::UserOnly.allows(b"user.mime_type"));
    }

    #[test]
    fn records_round_trip_through_a_tar_stream() {
        let attrs: Xattrs = vec![
            (b"security.capability".to_vec(), vec![1, 0, 0, 2]),
            (b"user.a".to_vec(), b"x y=z".to_vec()),
            (b"user.nl".to_vec(), b"x\ny".to_vec()),
        ];
        let mut b = tar::Builder::new(Vec::new());
        let mut named = attrs.clone();
        named.push((b"user.x\n9 path=y".to_vec(), b"v".to_vec()));
        named.push((b"user.a=b".to_vec(), b"v".to_vec()));
        let records = pax_records(&named, "f");
        assert_eq!(
            records.len(),
            2,
            "newlines and '=' in names or values are left out"
        );
        b.append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        // A name over 100 bytes: a GNU long-name entry comes between the PAX header and the
        // file's own header, and the records still belong to the file.
        let long = format!("{}/f", "d".repeat(120));
        b.append_data(&mut h, &long, &b"1"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        for (policy, want) in [
            (XattrPolicy::Keep, attrs[..2].to_vec()),
            (XattrPolicy::UserOnly, attrs[1..2].to_vec()),
        ] {
            let mut a = tar::Archive::new(&bytes[..]);
            let mut e = a.entries().unwrap().next().unwrap().unwrap();
            assert_eq!(e.path_bytes(), long.as_bytes());
            assert_eq!(from_entry(&mut e, policy).unwrap(), want);
        }

        // Another writer's record with a newline in its value: refused, not half read.
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("SCHILY.xattr.user.nl", &b"a\nb"[..])])
            .unwrap();
        b.append_data(&mut h, "g", &b"1"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let mut a = tar::Archive::new(&bytes[..]);
        let mut e = a.entries().unwrap().next().unwrap().unwrap();
        assert!(from_entry(&mut e, XattrPolicy::Keep).is_err());
    }
}
