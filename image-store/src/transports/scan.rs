//! One pass over an archive (oci-archive or docker-archive), nothing extracted.
//!
//! Members come in any order (Podman writes `manifest.json` last), so the scan keeps them
//! where the resolve step can find them without holding blobs in memory:
//! - `index.json`, `oci-layout`, `manifest.json`, `repositories` stay in memory (size-capped);
//! - every other regular file is spooled to a private temp dir `ingest/load-*` in the store;
//!   a `blobs/sha256/<hex>` member is verified against `<hex>` while it is spooled.
//!
//! Nothing enters the content store here: blobs are put there by the one copy routine, once
//! the manifest naming them and every descriptor in it were checked (issue 19: a refused
//! load leaves no blob behind).
//!
//! - symlinks and hard links (skopeo and Podman write `<id>/layer.tar -> ../<diff-id>.tar` in
//!   docker-archives) are kept as aliases of other members, resolved by name inside the archive;
//!   nothing is ever created on disk from a link.
//!
//! Hostile members (`..`, absolute names, links leaving the archive, devices) are refused with
//! an error naming them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use berth_layers::digest::{sha256_from_hex, HashingWriter};
use berth_layers::Digest;
use tar::EntryType;
use tempfile::TempDir;

use crate::copy::MAX_MANIFEST_SIZE;
use crate::error::{Result, StoreError};
use crate::store::Store;

/// Members kept in memory.
const SMALL_MEMBERS: &[&str] = &["index.json", "oci-layout", "manifest.json", "repositories"];
/// Longest chain of links followed.
const MAX_LINK_HOPS: usize = 8;

/// Where a scanned member's bytes are now: a temp file in the spool (a `blobs/sha256/<hex>`
/// member only once it matched its name).
#[derive(Debug, Clone)]
pub struct Member(PathBuf);

/// The result of scanning an archive.
pub struct Scanned {
    /// `index.json`, `oci-layout`, `manifest.json`, `repositories`, if present.
    pub small: HashMap<String, Vec<u8>>,
    /// Every other regular member by its (cleaned) name.
    pub members: HashMap<String, Member>,
    /// Link members: name → the member name they point at (cleaned, inside the archive).
    pub links: HashMap<String, String>,
    /// Holds the spooled files; removed on drop.
    _spool: TempDir,
}

impl Scanned {
    /// Open a member for reading, naming it when absent.
    pub fn open(&self, name: &str) -> Result<File> {
        let mut target = clean_name(name)?;
        for _ in 0..MAX_LINK_HOPS {
            match self.links.get(&target) {
                Some(next) => target = next.clone(),
                None => break,
            }
        }
        match self.members.get(target.as_str()) {
            Some(Member(p)) => File::open(p).map_err(|e| StoreError::io(p, e)),
            None => Err(StoreError::NotFound(format!("archive member {name:?}"))),
        }
    }
}

/// Clean a member name: strip `./` prefixes and trailing `/`; refuse absolute names and `..`.
pub fn clean_name(raw: &str) -> Result<String> {
    if raw.starts_with('/') {
        return Err(StoreError::Invalid(format!(
            "archive member {raw:?}: absolute path refused"
        )));
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(StoreError::Invalid(format!(
                    "archive member {raw:?}: `..` in path refused"
                )))
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Resolve a symlink member's target against the member's directory, inside the archive.
fn link_target(member: &str, target: &str, symlink: bool) -> Result<String> {
    let refuse = |why: &str| {
        StoreError::Invalid(format!(
            "archive member {member:?}: link to {target:?} refused: {why}"
        ))
    };
    if target.starts_with('/') {
        return Err(refuse("absolute target"));
    }
    let mut parts: Vec<&str> = Vec::new();
    if symlink {
        parts.extend(member.split('/'));
        parts.pop();
    }
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(refuse("leaves the archive"));
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(refuse("empty target"));
    }
    Ok(parts.join("/"))
}

/// The digest named by a `blobs/sha256/<hex>` member, if the name has that form.
pub fn blob_member_digest(name: &str) -> Option<Digest> {
    let hex = name.strip_prefix("blobs/sha256/")?;
    sha256_from_hex(hex).ok()
}

/// Scan a (decompressed) tar stream once; see the module doc.
pub fn scan_archive(store: &Store, input: impl Read, what: &Path) -> Result<Scanned> {
    // Spooled under the store's ingest/ (same file system, private, removed on drop; gc
    // collects a killed load's).
    let ingest = store.root().join("ingest");
    let spool = tempfile::Builder::new()
        .prefix("load-")
        .tempdir_in(&ingest)
        .map_err(|e| StoreError::io(&ingest, e))?;
    let mut small = HashMap::new();
    let mut members = HashMap::new();
    let mut links = HashMap::new();
    let stream_err =
        |e: io::Error| StoreError::Invalid(format!("{}: reading archive: {e}", what.display()));
    let mut archive = tar::Archive::new(input);
    let entries = archive.entries().map_err(stream_err)?;
    for (n, entry) in entries.enumerate() {
        let mut entry = entry.map_err(stream_err)?;
        let (raw, link) = berth_layers::pax::entry_names(&mut entry).map_err(stream_err)?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let kind = entry.header().entry_type();
        match kind {
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Directory => {
                clean_name(&raw)?;
                continue;
            }
            EntryType::Regular | EntryType::Continuous => {}
            EntryType::Symlink | EntryType::Link => {
                let name = clean_name(&raw)?;
                let target = link
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let resolved = link_target(&name, &target, kind == EntryType::Symlink)?;
                if members.contains_key(&name) || links.contains_key(&name) {
                    return Err(StoreError::Invalid(format!(
                        "archive member {name:?}: appears twice"
                    )));
                }
                if SMALL_MEMBERS.contains(&name.as_str()) || blob_member_digest(&name).is_some() {
                    return Err(StoreError::Invalid(format!(
                        "archive member {name:?}: must be a regular file, not a link"
                    )));
                }
                links.insert(name, resolved);
                continue;
            }
            other => {
                return Err(StoreError::Invalid(format!(
                "archive member {raw:?}: entry type {other:?} refused (only files and directories)"
            )))
            }
        }
        let name = clean_name(&raw)?;
        if name.is_empty() {
            return Err(StoreError::Invalid(format!(
                "archive member {raw:?}: empty name"
            )));
        }
        if members.contains_key(&name) || small.contains_key(&name) || links.contains_key(&name) {
            return Err(StoreError::Invalid(format!(
                "archive member {name:?}: appears twice"
            )));
        }
        if SMALL_MEMBERS.contains(&name.as_str()) {
            let mut buf = Vec::new();
            (&mut entry)
                .take(MAX_MANIFEST_SIZE + 1)
                .read_to_end(&mut buf)
                .map_err(stream_err)?;
            if buf.len() as u64 > MAX_MANIFEST_SIZE {
                return Err(StoreError::Invalid(format!(
                    "archive member {name:?}: larger than {MAX_MANIFEST_SIZE} bytes"
                )));
            }
            small.insert(name, buf);
        } else {
            let path = spool.path().join(format!("m{n}"));
            let file = File::create(&path).map_err(|e| StoreError::io(&path, e))?;
            let spool_err = |e: io::Error| {
                StoreError::Invalid(format!(
                    "archive member {name:?}: spooling to {}: {e}",
                    path.display()
                ))
            };
            if let Some(named) = blob_member_digest(&name) {
                let mut hashing = HashingWriter::new(file);
                io::copy(&mut entry, &mut hashing).map_err(spool_err)?;
                let (_, actual, _) = hashing.finish();
                if named != actual {
                    return Err(StoreError::DigestMismatch {
                        what: format!("archive member {name:?}"),
                        expected: named.to_string(),
                        actual: actual.to_string(),
                    });
                }
            } else {
                let mut file = file;
                io::copy(&mut entry, &mut file).map_err(spool_err)?;
            }
            members.insert(name, Member(path));
        }
    }
    Ok(Scanned {
        small,
        members,
        links,
        _spool: spool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_names() {
        assert_eq!(clean_name("./manifest.json").unwrap(), "manifest.json");
        assert_eq!(clean_name("blobs/sha256/").unwrap(), "blobs/sha256");
        assert!(clean_name("../x").unwrap_err().to_string().contains("../x"));
        assert!(clean_name("a/../../x").is_err());
        assert!(clean_name("/etc/passwd").is_err());
    }

    #[test]
    fn link_targets_stay_inside() {
        assert_eq!(
            link_target("a/layer.tar", "../b.tar", true).unwrap(),
            "b.tar"
        );
        assert_eq!(
            link_target("a/layer.tar", "b/layer.tar", false).unwrap(),
            "b/layer.tar"
        );
        assert!(link_target("a/layer.tar", "../../etc/passwd", true).is_err());
        assert!(link_target("x", "/etc/passwd", true).is_err());
        assert!(link_target("x", "..", false).is_err());
    }
}
