//! Extended attributes as images and copies carry them: which ones belong to a file's
//! content, and reading them.
//!
//! overlayfs' own attributes (`trusted.overlay.*`, `user.overlay.*`) describe a mount, not a
//! file, and `security.selinux` is the host policy's label (runtimes label containers
//! themselves): neither goes into a layer or a copy.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// An overlayfs-private attribute.
pub fn is_overlay(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// Whether an attribute travels with a file into a layer or a copy.
pub fn travels(name: &[u8]) -> bool {
    !is_overlay(name) && name != b"security.selinux"
}

/// The attributes of `path` that travel, sorted by name: of `path` itself, or with `follow`
/// of what it leads to (a `/proc/self/fd/N` link names the inode of that descriptor). A
/// file system without attributes yields none; an error names the attribute.
pub fn read(path: &Path, follow: bool) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let listed = if follow {
        xattr::list_deref(path)
    } else {
        xattr::list(path)
    };
    let names = match listed {
        Ok(n) => n,
        Err(e) if unsupported(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for n in names {
        let key = n.as_bytes().to_vec();
        if !travels(&key) {
            continue;
        }
        let value = if follow {
            xattr::get_deref(path, &n)
        } else {
            xattr::get(path, &n)
        };
        match value {
            Ok(Some(v)) => out.push((key, v)),
            Ok(None) => {}
            Err(e) if unsupported(&e) => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("xattr {}: {e}", n.to_string_lossy()),
                ))
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Not supported here, or gone since listed.
fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::ENODATA))
}
