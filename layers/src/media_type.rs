//! Media types: every name berth knows, in one place, and what each one is.
//!
//! oci-spec's [`MediaType`] stays the type descriptors carry (Docker v2s2 names parse as
//! `MediaType::Other`); [`KnownMediaType`] says what a media type is: a single-image
//! manifest, an index (or Docker manifest list), an image config or a layer with its codec,
//! in the OCI or the Docker v2 schema 2 family. Anything else (artifacts, Docker schema 1,
//! unknown names) is `None`, for each caller to refuse with its own words.

use std::fmt;
use std::io::Read;

use oci_spec::image::MediaType;

use crate::compression::Compression;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layers: plain, gzip, zstd.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd layer.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layers (deprecated by the spec, still read): plain, gzip, zstd.
pub const OCI_FOREIGN_LAYER: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable gzip layer.
pub const OCI_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable zstd layer.
pub const OCI_FOREIGN_LAYER_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2 schema 2 manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker v2 schema 2 image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker v2 schema 2 gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker v2 schema 2 uncompressed layer.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker v2 schema 2 foreign (non-distributable) gzip layer.
pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker v2 schema 1 manifests (signed and not): recognized as declarations, not supported.
pub const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The family a media type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// The OCI image spec.
    Oci,
    /// Docker image manifest v2 schema 2.
    DockerV2s2,
}

/// A media type berth reads, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KnownMediaType {
    /// A single-image manifest.
    Manifest(Schema),
    /// An OCI index or a Docker manifest list.
    Index(Schema),
    /// An image config.
    Config(Schema),
    /// A layer: its codec, and whether it is distributable (not a "foreign" layer).
    Layer {
        /// OCI or Docker.
        schema: Schema,
        /// How the tar stream is compressed.
        codec: Compression,
        /// False for non-distributable ("foreign") layers.
        distributable: bool,
    },
}

use KnownMediaType::*;
use Schema::*;

/// Every known media type with its name, the one table both directions read.
const TABLE: [(KnownMediaType, &str); 15] = [
    (Manifest(Oci), OCI_MANIFEST),
    (Index(Oci), OCI_INDEX),
    (Config(Oci), OCI_CONFIG),
    (layer(Oci, Compression::None, true), OCI_LAYER),
    (layer(Oci, Compression::Gzip, true), OCI_LAYER_GZIP),
    (layer(Oci, Compression::Zstd, true), OCI_LAYER_ZSTD),
    (layer(Oci, Compression::None, false), OCI_FOREIGN_LAYER),
    (layer(Oci, Compression::Gzip, false), OCI_FOREIGN_LAYER_GZIP),
    (layer(Oci, Compression::Zstd, false), OCI_FOREIGN_LAYER_ZSTD),
    (Manifest(DockerV2s2), DOCKER_MANIFEST),
    (Index(DockerV2s2), DOCKER_LIST),
    (Config(DockerV2s2), DOCKER_CONFIG),
    (
        layer(DockerV2s2, Compression::Gzip, true),
        DOCKER_LAYER_GZIP,
    ),
    (layer(DockerV2s2, Compression::None, true), DOCKER_LAYER),
    (
        layer(DockerV2s2, Compression::Gzip, false),
        DOCKER_FOREIGN_LAYER_GZIP,
    ),
];

const fn layer(schema: Schema, codec: Compression, distributable: bool) -> KnownMediaType {
    Layer {
        schema,
        codec,
        distributable,
    }
}

impl KnownMediaType {
    /// What a media type name is (exact match, as registries and layouts write them).
    pub fn parse(name: &str) -> Option<KnownMediaType> {
        TABLE.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    /// What a descriptor's media type is.
    pub fn of(media_type: &MediaType) -> Option<KnownMediaType> {
        KnownMediaType::parse(media_type.as_ref())
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        TABLE
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .expect("every KnownMediaType value is in the table")
    }

    /// As oci-spec's type (OCI names become their own variants, Docker names `Other`).
    pub fn media_type(self) -> MediaType {
        MediaType::from(self.as_str())
    }

    /// The distributable layer type for `codec` in `schema`; `None` for zstd in Docker
    /// v2s2, which has no such type.
    pub fn layer(schema: Schema, codec: Compression) -> Option<KnownMediaType> {
        let k = layer(schema, codec, true);
        TABLE.iter().any(|(t, _)| *t == k).then_some(k)
    }

    /// The OCI or Docker family.
    pub fn schema(self) -> Schema {
        match self {
            Manifest(s) | Index(s) | Config(s) | Layer { schema: s, .. } => s,
        }
    }

    /// A Docker v2 schema 2 type.
    pub fn is_docker(self) -> bool {
        self.schema() == DockerV2s2
    }

    /// A single-image manifest (OCI or Docker v2s2).
    pub fn is_manifest(self) -> bool {
        matches!(self, Manifest(_))
    }

    /// An OCI index or a Docker manifest list.
    pub fn is_index(self) -> bool {
        matches!(self, Index(_))
    }

    /// An image config.
    pub fn is_config(self) -> bool {
        matches!(self, Config(_))
    }

    /// A layer.
    pub fn is_layer(self) -> bool {
        matches!(self, Layer { .. })
    }

    /// A layer's codec; `None` for anything but a layer.
    pub fn layer_codec(self) -> Option<Compression> {
        match self {
            Layer { codec, .. } => Some(codec),
            _ => None,
        }
    }
}

/// How many leading bytes of a blob [`check_head`] looks at: one tar header block, enough for
/// every magic number and a tar header's checksum.
pub const HEAD_LEN: usize = 512;

impl KnownMediaType {
    /// Whether a blob whose first bytes are `head` (up to [`HEAD_LEN`], fewer only when the
    /// blob is shorter) is what this type says: a manifest, index or config is a JSON object;
    /// a layer's codec is the one its magic number shows (gzip `1f8b`, zstd `28b52ffd`, else
    /// an uncompressed tar, whose first header's checksum must hold). The error is one line
    /// saying what the bytes are instead.
    pub fn check_head(self, head: &[u8]) -> Result<(), String> {
        let found = describe_head(head);
        let fits = match self {
            Manifest(_) | Index(_) | Config(_) => found == "a JSON object",
            Layer { codec, .. } => match codec {
                Compression::Gzip => found == "gzip data",
                Compression::Zstd => found == "zstd data",
                Compression::None => found == "an uncompressed tar",
            },
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "media type {self} does not fit the blob: it is {found}"
            ))
        }
    }

    /// Refuse this type where it cannot stand: `slot` is where its descriptor sits (a layer
    /// type as a config, a config in an index, an index where a layer is expected, …).
    pub fn check_slot(self, slot: Slot) -> Result<(), String> {
        let fits = match slot {
            Slot::Config => self.is_config(),
            Slot::Layer => self.is_layer(),
            Slot::Manifest => self.is_manifest() || self.is_index(),
        };
        if fits {
            Ok(())
        } else {
            Err(format!("media type {self} cannot be {slot}"))
        }
    }
}

/// Where a descriptor sits in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A manifest's `config`.
    Config,
    /// An entry of a manifest's `layers`.
    Layer,
    /// An entry of an index's `manifests`.
    Manifest,
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Slot::Config => "a config",
            Slot::Layer => "a layer",
            Slot::Manifest => "an index entry",
        })
    }
}

/// Check a blob's first bytes against the media type its descriptor gives
/// ([`KnownMediaType::check_head`]); types berth does not know (artifacts) are not checked.
pub fn check_head(media_type: &str, head: &[u8]) -> Result<(), String> {
    match KnownMediaType::parse(media_type) {
        Some(k) => k.check_head(head),
        None => Ok(()),
    }
}

/// Read up to [`HEAD_LEN`] bytes from the start of `reader` (fewer only at its end).
pub fn read_head(reader: &mut (dyn Read + Send)) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    reader.take(HEAD_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// What a blob's first bytes are, in words.
fn describe_head(head: &[u8]) -> &'static str {
    match Compression::detect(head) {
        Compression::Gzip => return "gzip data",
        Compression::Zstd => return "zstd data",
        Compression::None => {}
    }
    if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return "a JSON object";
    }
    // An empty blob is an empty tar stream to every reader (`tar` stops at EOF).
    if head.is_empty() || is_tar_head(head) {
        return "an uncompressed tar";
    }
    "neither a tar stream, gzip, zstd nor JSON"
}

/// A tar stream's start: a header block whose checksum holds (ustar, GNU and v7 alike,
/// summed unsigned or signed), or an end-of-archive block of zeros (an empty layer).
fn is_tar_head(head: &[u8]) -> bool {
    let Some(block) = head.get(..HEAD_LEN) else {
        return false;
    };
    if block.iter().all(|b| *b == 0) {
        return true;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let Ok(stored) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let byte = |i: usize, b: u8| if (148..156).contains(&i) { b' ' } else { b };
    let unsigned: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| u32::from(byte(i, *b)))
        .sum();
    // Old Sun tar summed signed chars; Go's archive/tar accepts both, so does this.
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| i64::from(byte(i, *b) as i8))
        .sum();
    unsigned == stored || signed == i64::from(stored)
}

impl fmt::Display for KnownMediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The media types of layers stored with a codec (kept here, beside the table, so that
/// `compression` knows nothing of media types).
impl Compression {
    /// The OCI layer media type for a layer stored with this codec.
    pub fn oci_layer_media_type(self) -> MediaType {
        KnownMediaType::layer(Oci, self)
            .expect("OCI has a layer type for every codec")
            .media_type()
    }

    /// The codec a layer media type announces (OCI and Docker v2s2 names), if any is known
    /// ([`KnownMediaType::layer_codec`]).
    pub fn from_media_type(media_type: &MediaType) -> Option<Compression> {
        KnownMediaType::of(media_type)?.layer_codec()
    }
}

/// Whether `media_type` names an OCI index or a Docker manifest list.
pub fn is_index(media_type: &str) -> bool {
    KnownMediaType::parse(media_type).is_some_and(KnownMediaType::is_index)
}

/// Whether `media_type` names a single-image manifest (OCI or Docker v2s2).
pub fn is_image_manifest(media_type: &MediaType) -> bool {
    KnownMediaType::of(media_type).is_some_and(KnownMediaType::is_manifest)
}

/// Whether `media_type` names an image config (OCI or Docker v2s2).
pub fn is_image_config(media_type: &MediaType) -> bool {
    KnownMediaType::of(media_type).is_some_and(KnownMediaType::is_config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with_one_file() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_cksum();
        b.append_data(&mut h, "f", &b"x"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn heads_fit_their_types() {
        let oci = |c| KnownMediaType::layer(Oci, c).unwrap();
        let tar = tar_with_one_file();
        assert_eq!(oci(Compression::None).check_head(&tar), Ok(()));
        assert_eq!(oci(Compression::None).check_head(&[0; HEAD_LEN]), Ok(()));
        assert_eq!(
            oci(Compression::Gzip).check_head(&[0x1f, 0x8b, 8, 0]),
            Ok(())
        );
        assert_eq!(
            oci(Compression::Zstd).check_head(&[0x28, 0xb5, 0x2f, 0xfd, 1]),
            Ok(())
        );
        assert_eq!(Config(Oci).check_head(b" \n{\"a\":1}"), Ok(()));
        let err = oci(Compression::Gzip)
            .check_head(&[0x28, 0xb5, 0x2f, 0xfd, 1])
            .unwrap_err();
        assert_eq!(
            err,
            format!("media type {OCI_LAYER_GZIP} does not fit the blob: it is zstd data")
        );
        let err = Config(Oci).check_head(&[0x1f, 0x8b, 8]).unwrap_err();
        assert!(err.ends_with("it is gzip data"), "{err}");
        let err = Manifest(Oci).check_head(&tar).unwrap_err();
        assert!(err.ends_with("it is an uncompressed tar"), "{err}");
        let mut broken = tar.clone();
        broken[0] ^= 1;
        let err = oci(Compression::None).check_head(&broken).unwrap_err();
        assert!(err.contains("neither a tar"), "{err}");
        assert_eq!(oci(Compression::None).check_head(b""), Ok(()));
        assert!(Config(Oci).check_head(b"").is_err());
        assert!(oci(Compression::None).check_head(&tar[..100]).is_err());
        // Unknown types are not checked.
        assert_eq!(check_head("application/x-artifact", b"anything"), Ok(()));
    }

    #[test]
    fn slots() {
        assert!(Config(Oci).check_slot(Slot::Config).is_ok());
        let err = KnownMediaType::parse(OCI_LAYER_GZIP)
            .unwrap()
            .check_slot(Slot::Config)
            .unwrap_err();
        assert_eq!(
            err,
            format!("media type {OCI_LAYER_GZIP} cannot be a config")
        );
        assert!(Index(Oci).check_slot(Slot::Manifest).is_ok());
        assert!(Index(Oci).check_slot(Slot::Layer).is_err());
        assert!(Config(DockerV2s2).check_slot(Slot::Manifest).is_err());
    }

    #[test]
    fn every_name_round_trips() {
        for (k, name) in TABLE {
            assert_eq!(KnownMediaType::parse(name), Some(k), "{name}");
            assert_eq!(k.as_str(), name);
            assert_eq!(KnownMediaType::of(&k.media_type()), Some(k), "{name}");
            assert_eq!(k.media_type().to_string(), name);
        }
        // OCI names are oci-spec's own variants, Docker names `Other`.
        assert_eq!(
            KnownMediaType::Index(Oci).media_type(),
            MediaType::ImageIndex
        );
        assert!(matches!(
            Manifest(DockerV2s2).media_type(),
            MediaType::Other(_)
        ));
    }

    #[test]
    fn classification() {
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_LIST));
        assert!(!is_index(OCI_MANIFEST) && !is_index("application/json") && !is_index(""));
        assert!(is_image_manifest(&MediaType::ImageManifest));
        assert!(is_image_manifest(&MediaType::from(DOCKER_MANIFEST)));
        assert!(!is_image_manifest(&MediaType::ImageIndex));
        assert!(!is_image_manifest(&MediaType::from(DOCKER_SCHEMA1[0])));
        assert!(is_image_config(&MediaType::ImageConfig));
        assert!(is_image_config(&MediaType::from(DOCKER_CONFIG)));
        assert!(!is_image_config(&MediaType::from(
            "application/vnd.dev.cosign.simplesigning.v1+json"
        )));
        let l = KnownMediaType::parse(DOCKER_FOREIGN_LAYER_GZIP).unwrap();
        assert!(l.is_layer() && l.is_docker() && !l.is_config());
        assert_eq!(l.layer_codec(), Some(Compression::Gzip));
        assert_eq!(Config(Oci).layer_codec(), None);
        // Case and parameters are not normalised here (Content-Type handling does that).
        assert_eq!(KnownMediaType::parse(&OCI_MANIFEST.to_uppercase()), None);
    }

    #[test]
    fn layer_types_per_schema() {
        assert_eq!(
            KnownMediaType::layer(Oci, Compression::Zstd).map(KnownMediaType::as_str),
            Some(OCI_LAYER_ZSTD)
        );
        assert_eq!(
            KnownMediaType::layer(DockerV2s2, Compression::Gzip).map(KnownMediaType::as_str),
            Some(DOCKER_LAYER_GZIP)
        );
        assert_eq!(
            KnownMediaType::layer(DockerV2s2, Compression::None).map(KnownMediaType::as_str),
            Some(DOCKER_LAYER)
        );
        assert_eq!(KnownMediaType::layer(DockerV2s2, Compression::Zstd), None);
    }

    #[test]
    fn codecs_of_layer_types() {
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(
                Compression::from_media_type(&c.oci_layer_media_type()),
                Some(c)
            );
        }
        assert_eq!(
            Compression::from_media_type(&MediaType::from(DOCKER_LAYER_GZIP)),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_media_type(&MediaType::from(DOCKER_LAYER)),
            Some(Compression::None)
        );
        assert_eq!(Compression::from_media_type(&MediaType::ImageConfig), None);
    }
}
