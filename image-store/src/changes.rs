//! `diff`: what changed between two file system views, as Podman lists it (`A`, `C`, `D`
//! lines, or `{"changed","added","deleted"}`), for containers (their snapshot's upper dir over
//! the image) and images (the top layer over its parent, or one image against another).
//!
//! A view is a [`LayerStack`]: overlay layer dirs, top first (an image's unpacked layers; a
//! container's upper dir on top of them). The paths to look at are those the layers above
//! the common base of the two stacks hold (their entries, whiteouts and opaque dirs, read by
//! the layer codec's one overlay walk, `berth_layers::overlay_upper_entries`); each is then
//! looked up in both views (`berth_layers::overlay_lookup`): only in the new one → added,
//! only in the old one → deleted, in both → changed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use berth_layers::{overlay_lookup, overlay_upper_entries, LayerLookup, UpperEntry};
use serde::Serialize;

use crate::error::Result;
use crate::images::ImageRecord;
use crate::store::Store;

/// A file system as overlay layer dirs, top first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStack(pub Vec<PathBuf>);

/// How a path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl ChangeKind {
    /// Podman's letter: `A`, `C` or `D`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path (absolute, as the container sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

/// Changes as `diff --format json` prints them (Podman's keys, empty lists left out).
#[derive(Debug, Default, Serialize)]
pub struct ChangesJson {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
}

impl ChangesJson {
    pub fn of(changes: &[Change]) -> ChangesJson {
        let mut j = ChangesJson::default();
        for c in changes {
            let list = match c.kind {
                ChangeKind::Added => &mut j.added,
                ChangeKind::Changed => &mut j.changed,
                ChangeKind::Deleted => &mut j.deleted,
            };
            list.push(c.path.clone());
        }
        j
    }
}

/// Whether `rel` exists in `stack` (the first layer that knows decides).
fn exists(stack: &[PathBuf], rel: &str) -> Result<bool> {
    for layer in stack {
        match overlay_lookup(layer, rel)? {
            LayerLookup::Absent => continue,
            LayerLookup::Present => return Ok(true),
            LayerLookup::Hidden => return Ok(false),
        }
    }
    Ok(false)
}

/// The changes from view `from` to view `to`, sorted by path.
pub fn changes(from: &LayerStack, to: &LayerStack) -> Result<Vec<Change>> {
    // The common base: the longest run of equal layers at the bottom of both.
    let common = from
        .0
        .iter()
        .rev()
        .zip(to.0.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let from_top = &from.0[..from.0.len() - common];
    let to_top = &to.0[..to.0.len() - common];
    let mut paths = BTreeSet::new();
    for layer in from_top.iter().chain(to_top) {
        for entry in overlay_upper_entries(layer)? {
            let (UpperEntry::Present(p) | UpperEntry::Whiteout(p) | UpperEntry::Opaque(p)) = entry;
            paths.insert(p);
        }
    }
    let mut out = Vec::new();
    for rel in paths {
        let kind = match (exists(&from.0, &rel)?, exists(&to.0, &rel)?) {
            (false, true) => ChangeKind::Added,
            (true, true) => ChangeKind::Changed,
            (true, false) => ChangeKind::Deleted,
            (false, false) => continue,
        };
        out.push(Change {
            path: format!("/{rel}"),
            kind,
        });
    }
    Ok(out)
}

impl Store {
    /// `image`'s layers (unpacked first), top first.
    pub fn image_stack(&self, image: &ImageRecord) -> Result<LayerStack> {
        let chains = self.unpack_image(image)?;
        Ok(LayerStack(self.lower_dirs(&chains)))
    }

    /// Writable snapshot `key`: its upper dir over its layers.
    pub fn snapshot_stack(&self, key: &str) -> Result<LayerStack> {
        let chains = self.snapshot_chain(key)?;
        let mut layers = vec![self.snapshot(key)?.upper];
        layers.extend(self.lower_dirs(&chains));
        Ok(LayerStack(layers))
    }

    /// `image diff IMG`: its top layer's changes over its parent layers.
    pub fn image_changes(&self, image: &ImageRecord) -> Result<Vec<Change>> {
        let to = self.image_stack(image)?;
        let from = LayerStack(to.0.iter().skip(1).cloned().collect());
        changes(&from, &to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(dirs: &[&std::path::Path]) -> LayerStack {
        LayerStack(dirs.iter().map(|d| d.to_path_buf()).collect())
    }

    #[test]
    fn added_changed_deleted_against_the_lower_layers() {
        let d = tempfile::tempdir().unwrap();
        let (low, up) = (d.path().join("low"), d.path().join("up"));
        std::fs::create_dir_all(low.join("etc")).unwrap();
        std::fs::write(low.join("etc/keep"), "k").unwrap();
        std::fs::write(low.join("gone"), "g").unwrap();
        std::fs::create_dir_all(up.join("etc")).unwrap();
        std::fs::write(up.join("etc/new"), "n").unwrap();
        // A whiteout as an unprivileged overlay writes it: an empty file with the xattr.
        std::fs::write(up.join("gone"), "").unwrap();
        let set = rustix::fs::setxattr(
            up.join("gone"),
            "user.overlay.whiteout",
            b"y",
            rustix::fs::XattrFlags::empty(),
        );
        if set.is_err() {
            return; // no user xattrs on this file system
        }
        let got = changes(&stack(&[&low]), &stack(&[&up, &low])).unwrap();
        let lines: Vec<String> = got
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect();
        assert_eq!(lines, ["C /etc", "A /etc/new", "D /gone"]);
        let j = serde_json::to_value(ChangesJson::of(&got)).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"changed": ["/etc"], "added": ["/etc/new"], "deleted": ["/gone"]})
        );
    }
}
