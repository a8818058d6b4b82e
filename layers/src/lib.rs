//! berth-layers: the OCI vocabulary and the layer codec.
//!
//! Everything here is synchronous and streams through `Read`/`Write`; nothing holds a whole
//! blob in memory.
//!
//! - [`digest`]: sha256 [`Digest`] helpers, [`digest::HashingWriter`] (hash and count while
//!   writing) and [`digest::VerifyingReader`] (fails at EOF unless digest and size match);
//!   [`digest::check_supported`] refuses digests berth cannot verify (sha384/sha512
//!   unsupported, anything else invalid) before anything is requested by them.
//! - [`media_type`]: every media type name berth knows, and
//!   [`media_type::KnownMediaType`]: what one is (manifest, index, config, layer and its
//!   codec; OCI or Docker v2s2). oci-spec's `MediaType` stays the descriptor field type.
//!   [`media_type::KnownMediaType::check_head`]: whether a blob's first bytes fit its type
//!   (JSON, or the layer codec's magic); `check_slot`: whether a type fits where its
//!   descriptor sits (config, layer, index entry).
//! - [`document`]: the manifest and index kinds and [`document::check_document`], the
//!   one gate every manifest or index passes on entering berth (registry, OCI layout,
//!   oci-archive): the declared types (descriptor, Content-Type, body `mediaType`) must agree,
//!   no field of another kind, every descriptor digest supported and media type in its slot
//!   (CVE-2021-41190); [`document::check_image`]: an image config and known layer types.
//! - [`compression`]: [`Compression`] (none, gzip, zstd) detected by magic bytes, streaming
//!   decoders, and encoders that use every core (our own parallel gzip, which stores
//!   incompressible stretches and writes the same bytes on any core count; zstdmt for zstd).
//! - [`writer`]: [`LayerWriter`], one pass tar → diff_id hash → compress → digest hash → sink,
//!   yielding a [`LayerDescriptor`]; deterministic output (sorted entries, numeric owners,
//!   optional fixed mtime, PAX for long names and xattrs).
//! - [`diff`]: an overlay upper dir → layer (whiteouts, opaque dirs), and a plain two-directory
//!   diff as fallback.
//! - [`apply`]: a layer stream → a directory, written by [`inroot::RootWriter`]; hostile
//!   entries are refused with an error naming the entry; limits stop decompression bombs.
//!   `apply/entry.rs` holds the OCI rules per entry (whiteouts, opaque directories, what a
//!   layer's own entries survive, devices only when privileged).
//! - [`inroot`]: [`inroot::InRoot`], file system work inside a tree untrusted code may have
//!   shaped (a container's rootfs, an overlay upper dir, a snapshot) from a descriptor of its
//!   top, one name at a time, never following a symlink out: in-root resolution as the
//!   container sees a path, exact lookups and removals through real directories only, and
//!   descriptor-relative walking for the differ and the store's tree removal.
//!   `inroot/write.rs`: [`inroot::RootWriter`], the one implementation of invariant 4
//!   (nothing written outside the target root) for layer apply, `cp` (berth-run) and
//!   COPY/ADD (berth-build): directories, files (streamed), symlinks, hard links, devices and
//!   FIFOs created or replaced relative to directory descriptors, owners, modes, times and
//!   extended attributes set without following the entry; errors name the path.
//! - [`pax`]: PAX header records, written and read by their lengths (binary values), and the
//!   names of a parsed `tar::Entry` as GNU tar reads them (`pax::entry_names`: a PAX `path`
//!   wins over a GNU long name).
//! - [`xattrs`]: which extended attributes travel with a file (not overlayfs' own, not SELinux
//!   labels), and reading them.
//! - [`reference`]: [`reference::Reference`] and [`reference::ParsedReference`], the one
//!   Docker reference parser (registry pulls and pushes, store names, signed identities):
//!   normalisation (`docker.io/library/…`), short-name detection, tag and digest, one set of
//!   limits (name ≤ 255, tag ≤ 128). A `Reference` prints, serialises and compares with text
//!   as its canonical form (`registry/repository[:tag][@digest]`).
//! - [`name`]: the grammar of a repository path component (used by [`reference`]).
//! - [`atomic_file`]: [`atomic_file::AtomicFile`] and [`atomic_file::write_atomically`], the
//!   one way berth replaces a host file (auth.json, policy.json, bundles, caches, archives): a
//!   temporary file beside the target made with `O_EXCL|O_NOFOLLOW` under a random name, its
//!   final mode set at creation, renamed over the target.
//! - [`private_dir`]: [`private_dir::ensure_private_dir`], the store and run roots at mode 0700
//!   (created so, or tightened with a notice).
//! - [`glob`]: Go's `filepath.Match` patterns (COPY sources, `${v#pat}`, reference filters).
//! - [`error`]: [`LayerError`], every variant naming the entry, path or digest concerned.

pub mod apply;
pub mod atomic_file;
pub mod compression;
pub mod diff;
pub mod digest;
pub mod document;
pub mod error;
pub mod glob;
pub mod inroot;
pub mod media_type;
pub mod name;
pub mod pax;
pub mod private_dir;
pub mod reference;
pub mod writer;
pub mod xattrs;

pub use apply::{apply_layer, apply_layer_in, ApplyLimits, ApplyOptions, ApplyStats, WhiteoutMode};
pub use compression::Compression;
pub use diff::{
    dir_diff_to_layer, overlay_lookup, overlay_upper_entries, overlay_upper_to_layer, LayerLookup,
    UpperEntry,
};
pub use digest::Digest;
pub use error::{LayerError, Result};
pub use writer::{tar_stream_to_layer, LayerDescriptor, LayerOptions, LayerWriter};
