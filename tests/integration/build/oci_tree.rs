//! An image in an OCI layout directory read back as data: its config (JSON) and the file
//! tree its layers make once applied in order (whiteouts and opaque dirs honoured, hard
//! links resolved), without mounting anything. Used to check conformance builds against
//! their `expect.json` and to compare berth's result with Buildah's.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// One path of the tree (mtimes ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    /// sha256 of the content, and the content itself when it is text under 4 KiB.
    File {
        sha256: String,
        text: Option<String>,
    },
    Symlink(String),
    Other(String),
}

impl Entry {
    /// A one-line description for diffs: `file <sha> mode=644 0:0`.
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            Kind::Dir => "dir".to_string(),
            Kind::File { sha256, .. } => format!("file {}", &sha256[..16]),
            Kind::Symlink(t) => format!("symlink -> {t}"),
            Kind::Other(t) => t.clone(),
        };
        let mode = match self.kind {
            Kind::Symlink(_) => String::new(),
            _ => format!(" mode={:o}", self.mode),
        };
        format!("{what}{mode} {}:{}", self.uid, self.gid)
    }
}

/// Absolute path (`/a/b`) → entry.
pub(crate) type Tree = BTreeMap<String, Entry>;

/// An image read from an OCI layout.
pub(crate) struct OciImage {
    pub config: serde_json::Value,
    pub layers: usize,
    pub tree: Tree,
}

/// A blob of an OCI layout (`blobs/sha256/<hex>`) or of a containers-image `dir:`
/// directory (`<hex>`, next to `manifest.json`).
fn blob(dir: &Path, digest: &str) -> std::path::PathBuf {
    let (_, hex) = digest.split_once(':').expect("digest");
    if dir.join("index.json").exists() {
        dir.join("blobs/sha256").join(hex)
    } else {
        dir.join(hex)
    }
}

fn json(path: &Path) -> serde_json::Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Read the single image of the OCI layout (or `dir:` directory, which keeps a Docker
/// v2s2 image's config as it is) `dir`.
pub(crate) fn read_oci_dir(dir: &Path) -> OciImage {
    let manifest = if dir.join("index.json").exists() {
        let index = json(&dir.join("index.json"));
        json(&blob(
            dir,
            index["manifests"][0]["digest"].as_str().unwrap(),
        ))
    } else {
        json(&dir.join("manifest.json"))
    };
    let config = json(&blob(dir, manifest["config"]["digest"].as_str().unwrap()));
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    let mut tree = Tree::new();
    tree.insert(
        "/".to_string(),
        Entry {
            kind: Kind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
        },
    );
    for l in &layers {
        apply(&mut tree, &blob(dir, l["digest"].as_str().unwrap()));
    }
    OciImage {
        config,
        layers: layers.len(),
        tree,
    }
}

fn open_layer(path: &Path) -> Box<dyn Read> {
    let mut f = fs::File::open(path).unwrap();
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).unwrap();
    drop(f);
    let f = fs::File::open(path).unwrap();
    if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    }
}

fn norm(p: &str) -> String {
    let mut out = String::new();
    for c in p.split('/').filter(|c| !c.is_empty() && *c != ".") {
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn remove_tree(tree: &mut Tree, path: &str, keep_self: bool) {
    let prefix = format!("{}/", path.trim_end_matches('/'));
    let doomed: Vec<String> = tree
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        tree.remove(&k);
    }
    if !keep_self {
        tree.remove(path);
    }
}

/// Apply one layer: first its whiteouts (against the lower layers), then its entries.
fn apply(tree: &mut Tree, layer: &Path) {
    let mut archive = tar::Archive::new(open_layer(layer));
    let mut adds: Vec<(String, Entry, Option<String>)> = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = norm(&e.path().unwrap().to_string_lossy());
        let (parent, name) = path.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() { "/" } else { parent };
        if name == ".wh..wh..opq" {
            remove_tree(tree, parent, true);
            continue;
        }
        if let Some(gone) = name.strip_prefix(".wh.") {
            remove_tree(tree, &norm(&format!("{parent}/{gone}")), false);
            continue;
        }
        let h = e.header().clone();
        let mode = h.mode().unwrap() & 0o7777;
        let (uid, gid) = (h.uid().unwrap(), h.gid().unwrap());
        let mut hardlink = None;
        let kind = match h.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink(
                e.link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
            ),
            tar::EntryType::Link => {
                hardlink = Some(norm(&e.link_name().unwrap().unwrap().to_string_lossy()));
                Kind::Other("hardlink".into())
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let text = (data.len() < 4096)
                    .then(|| String::from_utf8(data.clone()).ok())
                    .flatten();
                Kind::File {
                    sha256: hex::encode(Sha256::digest(&data)),
                    text,
                }
            }
            other => Kind::Other(format!("{other:?}")),
        };
        adds.push((
            path,
            Entry {
                kind,
                mode,
                uid,
                gid,
            },
            hardlink,
        ));
    }
    for (path, entry, hardlink) in adds {
        let entry = match hardlink.and_then(|t| tree.get(&t).cloned()) {
            Some(target) => target,
            None => entry,
        };
        if entry.kind != Kind::Dir {
            remove_tree(tree, &path, true);
        }
        tree.insert(path, entry);
    }
}
