//! berth-image-store: the content-addressed store, snapshots, image records and local formats.
//!
//! Layout under the store root (mode 0700, tightened when wider; `berth.db` and its `-wal`/`-shm`
//! 0600):
//!
//! ```text
//! blobs/sha256/<hex>     immutable blobs, visible only after digest and size matched
//! ingest/<random>        partial writes; a killed process leaves only these
//! overlay/<chain-hex>/   one unpacked layer per chain id (`diff/`), marked incomplete until done
//! snapshots/<key>/       writable snapshots (`upper/`, `work/`, `merged/`) for containers and builds
//! mounts/<image-hex>/    read-only image mounts (`berth image mount`)
//! berth.db               SQLite (WAL): images, names, image_layers, layers, diff_sizes, snapshots, image_mounts
//! lock                   store-wide flock: writers shared, gc and check exclusive
//! berth.open-lock        serializes processes opening (and migrating) the database
//! ```
//!
//! Principal types:
//! - [`Store`]: opens a root, owns the database and the [`ContentStore`]; image records
//!   ([`ImageRecord`]), names ([`names`]), snapshots ([`snapshot`]), gc and check.
//! - [`content::ContentStore`]: ingest → verify → rename; [`content::IngestWriter`].
//! - [`mount::Mount`]: a mount as plain data; [`mount::MountGuard`] unmounts on drop;
//!   [`overlay`]: overlays up to 500 layers deep (lower dirs one by one through the mount
//!   API, or named by descriptor in the option string on older kernels);
//!   [`volatile`]: snapshots mounted without the unmount's sync of the whole disk.
//! - [`copy`]: [`copy::ImageSource`] / [`copy::ImageDestination`] and the one
//!   [`copy::copy_image`] routine that save, load and (later) pull and push use; every
//!   manifest it reads passes [`copy::check_manifest_document`] (berth-layers'
//!   `check_document` against its descriptor) and [`copy::check_config_size`] first;
//!   [`transports`] implements them for OCI layouts, oci-archive and docker-archive.
//! - [`diff_size`]: layers' uncompressed sizes (table `diff_sizes`, by diff_id), which
//!   `images` and `history` show as Podman does.
//! - [`import`]: a rootfs tarball or a directory tree → a one-layer image.
//! - [`inspect`]: an image's inspect record ([`inspect::ImageInspect`], Podman's shape).
//! - [`error::StoreError`]: every variant names the digest, name or path concerned.
//! - `testutil` (hidden): uncompressed test layers and images for tests.

pub mod check;
pub mod content;
pub mod copy;
pub mod db;
pub mod diff_size;
pub mod error;
mod fsutil;
pub mod gc;
pub mod images;
pub mod import;
pub mod inspect;
pub mod mount;
pub mod names;
pub mod overlay;
pub mod snapshot;
pub mod store;
#[doc(hidden)]
pub mod testutil;
pub mod transports;
pub mod volatile;

pub use content::ContentStore;
pub use error::{Result, StoreError};
pub use images::ImageRecord;
pub use store::Store;
