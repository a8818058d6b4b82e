//! Manifest and index documents: which kind a JSON document is, decided so that every party
//! reads the same bytes the same way (CVE-2021-41190, ambiguous manifests).
//!
//! [`check_document`] is the one gate every manifest or index passes when it enters berth
//! (a registry's answer, an OCI layout's `index.json` and manifests, an oci-archive's). A
//! document is accepted only when
//! - every type declared for it agrees: the descriptor that named it, the registry's
//!   `Content-Type`, the body's own `mediaType` (a missing body `mediaType` is legal; a
//!   generic `Content-Type` such as `application/json` or `text/plain` says nothing, and
//!   then the body decides, as containers/image's `GuessMIMEType`);
//! - it carries no field of another kind: no `manifests` in an image manifest, no `config`
//!   or `layers` in an index, no Docker schema 1 `fsLayers`/`history` in either;
//! - every descriptor digest in it (config, layers, index entries, subject) is one berth can
//!   verify ([`crate::digest::check_supported`]), so nothing is requested by a digest that
//!   would fail only after the download;
//! - every descriptor has a size, and every known media type fits the slot it sits in
//!   ([`KnownMediaType::check_slot`]: no layer type as a config, no config or layer type in an
//!   index, no index where a layer is expected).
//!
//! [`check_image`] is what a manifest must also be before its image is recorded in the
//! store: an image config and only layer types berth knows (containers/image's wording).
//! Whether the blobs' bytes then fit their descriptors is checked as they stream
//! ([`crate::media_type::check_head`], digest and size by [`crate::digest::VerifyingReader`]
//! or the store's ingest).

use std::fmt;

use serde_json::{Map, Value};

use crate::digest::{check_supported, Digest};

use crate::media_type::{
    KnownMediaType, Schema, Slot, DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1,
    OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};

/// The kinds of document berth reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// An OCI image manifest.
    OciManifest,
    /// An OCI image index.
    OciIndex,
    /// A Docker v2 schema 2 manifest.
    DockerManifest,
    /// A Docker v2 schema 2 manifest list.
    DockerList,
}

impl DocumentKind {
    /// The kind a media type names, if it is one of these.
    pub fn from_media_type(media_type: &str) -> Option<DocumentKind> {
        match KnownMediaType::parse(media_type)? {
            KnownMediaType::Manifest(Schema::Oci) => Some(DocumentKind::OciManifest),
            KnownMediaType::Index(Schema::Oci) => Some(DocumentKind::OciIndex),
            KnownMediaType::Manifest(Schema::DockerV2s2) => Some(DocumentKind::DockerManifest),
            KnownMediaType::Index(Schema::DockerV2s2) => Some(DocumentKind::DockerList),
            _ => None,
        }
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::OciManifest => OCI_MANIFEST,
            DocumentKind::OciIndex => OCI_INDEX,
            DocumentKind::DockerManifest => DOCKER_MANIFEST,
            DocumentKind::DockerList => DOCKER_LIST,
        }
    }

    /// An index or manifest list (else a single-image manifest).
    pub fn is_index(self) -> bool {
        matches!(self, DocumentKind::OciIndex | DocumentKind::DockerList)
    }

    /// The top-level fields that belong to another kind of document.
    fn foreign_fields(self) -> &'static [&'static str] {
        if self.is_index() {
            &["config", "layers", "fsLayers", "history"]
        } else {
            &["manifests", "fsLayers", "history"]
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.media_type())
    }
}

/// A media type declared for a document from outside its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    by: &'static str,
    media_type: String,
}

impl Declared {
    /// A registry's `Content-Type` header: parameters dropped, case folded. `None` when it
    /// names no manifest type (absent, `application/json`, `text/plain`,
    /// `application/octet-stream`, …: some registries and CDNs send those for any
    /// document); the body then decides.
    pub fn content_type(header: Option<&str>) -> Option<Declared> {
        let essence = header?.split(';').next()?.trim().to_ascii_lowercase();
        let names_manifest = DocumentKind::from_media_type(&essence).is_some()
            || DOCKER_SCHEMA1.contains(&essence.as_str());
        names_manifest.then_some(Declared {
            by: "Content-Type",
            media_type: essence,
        })
    }

    /// The `mediaType` of the descriptor that named the document (an index entry); `None`
    /// when empty.
    pub fn descriptor(media_type: &str) -> Option<Declared> {
        (!media_type.is_empty()).then(|| Declared {
            by: "descriptor",
            media_type: media_type.to_string(),
        })
    }
}

/// Decide what kind of document `bytes` is and refuse it unless that is unambiguous: every
/// type in `declared` and the body's `mediaType` agree, it has no field of another kind, and
/// every descriptor digest in it is one berth verifies. The error is one line saying what
/// disagreed (the caller prefixes the document's reference or digest).
pub fn check_document(bytes: &[u8], declared: &[Declared]) -> Result<DocumentKind, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON document: {e}"))?;
    let Value::Object(doc) = value else {
        return Err("not a JSON object".into());
    };
    let body = match doc.get("mediaType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(Declared {
            by: "the body's mediaType",
            media_type: s.clone(),
        }),
        Some(other) => return Err(format!("mediaType {other} is not a string")),
    };
    let claims: Vec<&Declared> = declared.iter().chain(body.as_ref()).collect();
    if let Some(first) = claims.first() {
        if let Some(other) = claims.iter().find(|c| c.media_type != first.media_type) {
            return Err(format!(
                "{} {} disagrees with {} {}",
                first.by, first.media_type, other.by, other.media_type
            ));
        }
    }
    let kind = match claims.first() {
        Some(c) => DocumentKind::from_media_type(&c.media_type)
            .ok_or_else(|| format!("unsupported manifest media type {}", c.media_type))?,
        None => guess(&doc)?,
    };
    if let Some(v) = present(&doc, "schemaVersion") {
        if v.as_u64() != Some(2) {
            return Err(format!("schemaVersion {v} is not supported in {kind}"));
        }
    }
    let unexpected: Vec<&str> = kind
        .foreign_fields()
        .iter()
        .copied()
        .filter(|f| present(&doc, f).is_some())
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "rejecting ambiguous manifest, unexpected fields {unexpected:?} in supposedly {kind}"
        ));
    }
    check_digests(&doc)?;
    Ok(kind)
}

/// A field that is present and not JSON `null` (a `null` field is as good as absent, for
/// every JSON reader).
fn present<'a>(doc: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    doc.get(field).filter(|v| !v.is_null())
}

/// The kind of a document nothing declared (no type in the body, no descriptor, a generic
/// Content-Type), from its fields: the config's media type, else `manifests` for an index,
/// else `config`/`layers` for a manifest.
fn guess(doc: &Map<String, Value>) -> Result<DocumentKind, String> {
    let config_type = doc
        .get("config")
        .and_then(|c| c.get("mediaType"))
        .and_then(Value::as_str);
    Ok(match config_type {
        Some(DOCKER_CONFIG) => DocumentKind::DockerManifest,
        Some(OCI_CONFIG) => DocumentKind::OciManifest,
        _ if present(doc, "manifests").is_some() => DocumentKind::OciIndex,
        _ if present(doc, "config").is_some() || present(doc, "layers").is_some() => {
            DocumentKind::OciManifest
        }
        _ => return Err(
            "no mediaType, and neither an image manifest (config, layers) nor an index (manifests)"
                .into(),
        ),
    })
}

/// Check every descriptor the document holds: a supported digest, a size, and a media type
/// that fits its slot when berth knows it.
fn check_digests(doc: &Map<String, Value>) -> Result<(), String> {
    let one = |what: &str, desc: &Value| -> Result<(), String> {
        let Some(raw) = desc.get("digest") else {
            return Ok(());
        };
        let shown = raw.as_str().map_or_else(|| raw.to_string(), str::to_string);
        let slot = match what {
            "config" => Some(Slot::Config),
            "layer" => Some(Slot::Layer),
            "manifest" => Some(Slot::Manifest),
            _ => None,
        };
        let known = desc
            .get("mediaType")
            .and_then(Value::as_str)
            .and_then(KnownMediaType::parse);
        if let (Some(slot), Some(known)) = (slot, known) {
            known
                .check_slot(slot)
                .map_err(|e| format!("{what} {shown}: {e}"))?;
        }
        if !desc.get("size").is_some_and(Value::is_u64) {
            let size = desc.get("size").unwrap_or(&Value::Null);
            return Err(format!("{what} {shown}: size {size} is not a byte count"));
        }
        let text = raw
            .as_str()
            .ok_or_else(|| format!("{what}: digest {raw} is not a string"))?;
        let digest: Digest = text
            .parse()
            .map_err(|e| format!("{what}: invalid digest {text}: {e}"))?;
        check_supported(&digest).map_err(|e| format!("{what}: {e}"))
    };
    for (field, what) in [("config", "config"), ("subject", "subject")] {
        if let Some(desc) = present(doc, field) {
            one(what, desc)?;
        }
    }
    for (field, what) in [("layers", "layer"), ("manifests", "manifest")] {
        match present(doc, field) {
            None => {}
            Some(Value::Array(items)) => {
                for desc in items {
                    one(what, desc)?;
                }
            }
            Some(_) => return Err(format!("{field} is not a list")),
        }
    }
    Ok(())
}

/// Refuse a manifest ([`check_document`] already passed) whose image berth could not record:
/// a config that is not an image config, or a layer whose media type is not a layer type
/// berth knows (containers/image's words). The error names the descriptor.
pub fn check_image(bytes: &[u8]) -> Result<(), String> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON document: {e}"))?;
    let media_type = |d: &Value| {
        d.get("mediaType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let digest = |d: &Value| {
        d.get("digest")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let config = doc.get("config").unwrap_or(&Value::Null);
    let config_type = media_type(config);
    if !KnownMediaType::parse(&config_type).is_some_and(KnownMediaType::is_config) {
        return Err(format!(
            "config {}: unsupported image-specific operation on artifact with type {config_type:?}",
            digest(config)
        ));
    }
    let docker = KnownMediaType::parse(&config_type).is_some_and(KnownMediaType::is_docker);
    let layers = doc.get("layers").and_then(Value::as_array);
    for layer in layers.into_iter().flatten() {
        let mt = media_type(layer);
        if !KnownMediaType::parse(&mt).is_some_and(KnownMediaType::is_layer) {
            let family = if docker { "docker v2s2" } else { "OCIv1" };
            return Err(format!(
                "layer {}: unsupported {family} media type: {mt:?} (not a layer type berth knows)",
                digest(layer)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn manifest(media_type: Option<&str>, extra: &str) -> Vec<u8> {
        let mt = media_type
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"{OCI_CONFIG}","digest":"{A}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{A}","size":2}}]{extra}}}"#
        )
        .into_bytes()
    }

    fn index(media_type: Option<&str>, extra: &str) -> Vec<u8> {
        let mt = media_type
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{A}","size":2}}]{extra}}}"#
        )
        .into_bytes()
    }

    fn ct(v: &str) -> Vec<Declared> {
        Declared::content_type(Some(v)).into_iter().collect()
    }

    #[test]
    fn plain_documents_are_accepted() {
        let m = manifest(Some(OCI_MANIFEST), "");
        assert_eq!(check_document(&m, &[]), Ok(DocumentKind::OciManifest));
        assert_eq!(
            check_document(&m, &ct(OCI_MANIFEST)),
            Ok(DocumentKind::OciManifest)
        );
        let d = manifest(Some(DOCKER_MANIFEST), "");
        assert_eq!(
            check_document(&d, &ct(DOCKER_MANIFEST)),
            Ok(DocumentKind::DockerManifest)
        );
        let i = index(Some(DOCKER_LIST), "");
        assert_eq!(
            check_document(&i, &ct(DOCKER_LIST)),
            Ok(DocumentKind::DockerList)
        );
        let i = index(Some(OCI_INDEX), "");
        assert_eq!(check_document(&i, &[]), Ok(DocumentKind::OciIndex));
    }

    #[test]
    fn a_missing_body_media_type_takes_the_declared_one() {
        let m = manifest(None, "");
        assert_eq!(check_document(&m, &[]), Ok(DocumentKind::OciManifest));
        let i = index(None, "");
        assert_eq!(
            check_document(&i, &ct(OCI_INDEX)),
            Ok(DocumentKind::OciIndex)
        );
        // Declared an index, but it is a manifest: no mediaType to disagree, fields do.
        let err = check_document(&m, &ct(OCI_INDEX)).unwrap_err();
        assert!(err.contains("unexpected fields"), "{err}");
    }

    #[test]
    fn generic_and_parameterized_content_types() {
        let m = manifest(Some(OCI_MANIFEST), "");
        for generic in [
            "application/json",
            "text/plain",
            "application/octet-stream",
            "",
        ] {
            assert_eq!(Declared::content_type(Some(generic)), None, "{generic}");
            assert_eq!(
                check_document(&m, &ct(generic)),
                Ok(DocumentKind::OciManifest)
            );
        }
        let with_params = format!("{} ; charset=utf-8", OCI_MANIFEST.to_uppercase());
        assert_eq!(
            check_document(&m, &ct(&with_params)),
            Ok(DocumentKind::OciManifest)
        );
    }

    #[test]
    fn a_manifest_with_manifests_is_refused() {
        let extra =
            format!(r#","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{A}","size":2}}]"#);
        let m = manifest(Some(OCI_MANIFEST), &extra);
        let err = check_document(&m, &ct(OCI_MANIFEST)).unwrap_err();
        assert_eq!(
            err,
            format!(
                r#"rejecting ambiguous manifest, unexpected fields ["manifests"] in supposedly {OCI_MANIFEST}"#
            )
        );
        // Without any declared type too.
        assert!(check_document(&manifest(None, &extra), &[]).is_err());
        // A null field is absent.
        let m = manifest(Some(OCI_MANIFEST), r#","manifests":null"#);
        assert!(check_document(&m, &[]).is_ok());
    }

    #[test]
    fn an_index_with_config_or_layers_is_refused() {
        let extra = format!(r#","config":{{"mediaType":"{OCI_CONFIG}","digest":"{A}","size":2}}"#);
        let err = check_document(&index(Some(OCI_INDEX), &extra), &[]).unwrap_err();
        assert!(
            err.contains(r#"["config"]"#) && err.contains(OCI_INDEX),
            "{err}"
        );
        let err = check_document(&index(Some(DOCKER_LIST), r#","layers":[]"#), &[]).unwrap_err();
        assert!(err.contains(r#"["layers"]"#), "{err}");
        let err = check_document(&index(None, r#","layers":[]"#), &[]).unwrap_err();
        assert!(err.contains("ambiguous"), "{err}");
    }

    #[test]
    fn declared_types_must_agree() {
        let m = manifest(Some(OCI_INDEX), "");
        let err = check_document(&m, &ct(OCI_MANIFEST)).unwrap_err();
        assert_eq!(
            err,
            format!("Content-Type {OCI_MANIFEST} disagrees with the body's mediaType {OCI_INDEX}")
        );
        let m = manifest(Some(OCI_MANIFEST), "");
        let declared: Vec<Declared> = Declared::descriptor(DOCKER_MANIFEST).into_iter().collect();
        let err = check_document(&m, &declared).unwrap_err();
        assert!(
            err.contains("descriptor") && err.contains(DOCKER_MANIFEST),
            "{err}"
        );
        let err = check_document(
            &m,
            &ct("application/vnd.docker.distribution.manifest.v1+prettyjws"),
        )
        .unwrap_err();
        assert!(err.contains("disagrees"), "{err}");
        let err = check_document(&manifest(Some("application/x-other"), ""), &[]).unwrap_err();
        assert!(err.contains("unsupported manifest media type"), "{err}");
    }

    #[test]
    fn media_types_must_fit_their_slots() {
        let m = String::from_utf8(manifest(Some(OCI_MANIFEST), "")).unwrap();
        let bad = m.replacen(OCI_CONFIG, crate::media_type::OCI_LAYER_GZIP, 1);
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert_eq!(
            err,
            format!(
                "config {A}: media type {} cannot be a config",
                crate::media_type::OCI_LAYER_GZIP
            )
        );
        let bad = m.replacen("application/vnd.oci.image.layer.v1.tar", OCI_INDEX, 1);
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert!(
            err.starts_with("layer") && err.contains("cannot be a layer"),
            "{err}"
        );
        let i = String::from_utf8(index(Some(OCI_INDEX), "")).unwrap();
        let bad = i.replacen(OCI_MANIFEST, OCI_CONFIG, 1);
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert!(err.contains("cannot be an index entry"), "{err}");
        // Unknown types (artifacts) stand anywhere.
        let art = m.replacen(OCI_CONFIG, "application/vnd.example+json", 1);
        assert!(check_document(art.as_bytes(), &[]).is_ok());
        // Every descriptor has a size.
        let bad = m.replacen(r#","size":2}"#, "}", 1);
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert!(err.contains("size null is not a byte count"), "{err}");
        let bad = m.replacen(r#""size":2"#, r#""size":-2"#, 1);
        assert!(check_document(bad.as_bytes(), &[]).is_err());
    }

    #[test]
    fn images_have_image_configs_and_known_layers() {
        let m = manifest(Some(OCI_MANIFEST), "");
        assert_eq!(check_image(&m), Ok(()));
        let s = String::from_utf8(m).unwrap();
        let bad = s.replacen(
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.example.layer",
            1,
        );
        assert_eq!(
            check_image(bad.as_bytes()),
            Err(format!(
                "layer {A}: unsupported OCIv1 media type: \"application/vnd.example.layer\" (not a layer type berth knows)"
            ))
        );
        let art = s.replacen(OCI_CONFIG, "application/vnd.example+json", 1);
        let err = check_image(art.as_bytes()).unwrap_err();
        assert!(err.contains("artifact with type"), "{err}");
    }

    #[test]
    fn descriptor_digests_are_checked() {
        let sha512 = format!("sha512:{}", "b".repeat(128));
        let m = String::from_utf8(manifest(Some(OCI_MANIFEST), "")).unwrap();
        let bad = m.replacen(A, &sha512, 2).replacen(&sha512, A, 1);
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert!(
            err.starts_with("layer: unsupported digest algorithm sha512"),
            "{err}"
        );
        let bad = m.replacen(A, "md5:d41d8cd98f00b204e9800998ecf8427e", 1);
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert!(err.starts_with("config: invalid digest md5:"), "{err}");
        let i = String::from_utf8(index(Some(OCI_INDEX), "")).unwrap();
        let bad = i.replace(A, "sha256:../../etc/passwd");
        let err = check_document(bad.as_bytes(), &[]).unwrap_err();
        assert!(err.contains("manifest: invalid digest sha256:../"), "{err}");
    }

    #[test]
    fn odd_documents_are_refused() {
        assert!(check_document(b"[]", &[]).is_err());
        assert!(check_document(b"{", &[]).is_err());
        assert!(check_document(br#"{"schemaVersion":2}"#, &[]).is_err());
        let one = String::from_utf8(manifest(Some(OCI_MANIFEST), ""))
            .unwrap()
            .replace(r#""schemaVersion":2"#, r#""schemaVersion":1"#);
        let err = check_document(one.as_bytes(), &[]).unwrap_err();
        assert!(err.contains("schemaVersion 1"), "{err}");
    }
}
