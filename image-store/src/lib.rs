//! berth-image-store: the content-addressed store, snapshots, image records and local formats.
//!
//! Layout under the store root (mode 0700, tightened when wider; `berth.db` and its `-wal`/`-shm`
//! 0600). Every path under the root is listed here; crates above take the fixed names they use
//! from [`layout`], and every table is made by [`db`]'s versioned migrations.
//!
//! ```text
//! blobs/sha256/<hex>     immutable blobs, visible only after digest and size matched
//! ingest/<random>        partial writes; a killed process leaves only these
//! ingest/load-<random>/  spool of an archive being loaded (removed when done; gc otherwise)
//! overlay/<chain-hex>/   one unpacked layer per chain id (`diff/`), marked incomplete until done
//! overlay/tmp-<random>/  a layer being unpacked, renamed into place once its diff_id matched
//! snapshots/<key>/       writable snapshots (`upper/`, `work/`, `merged/`) for containers and builds
//!                        (`build-<id>`: alive only while its build holds the lock; check --repair
//!                        and gc remove those of killed builds, [`layout::BUILD_SNAPSHOT_PREFIX`])
//! mounts/<image-hex>/    read-only image mounts (`berth image mount`: `merged/`, `empty/`)
//! berth.db               SQLite (WAL), tables by migration (db.rs): images, names, image_layers,
//!                        layers, diff_sizes, snapshots, image_mounts (this crate); containers, volumes
//!                        (berth-run's queries); build_cache ([`build_cache`], berth-build's keys)
//! lock                   store-wide flock: writers shared, gc and check exclusive
//! berth.open-lock        serializes processes opening (and migrating) the database
//! manifests/<hex>.json   manifest lists, by sha256 of the list's name ([`manifest_lists`])
//! manifests/lock         flock held by a list's read-modify-write
//! volumes/<name>/_data   named volumes (berth-run; rows in `volumes`)
//! secrets/               berth-run's secrets (file driver): `secrets.json` (names, ids, dates),
//!                        `data/<id>` (0600, in 0700 dirs), `lock` (flock of a change)
//! build-cache/<id>/      `RUN --mount=type=cache` directories (berth-build), `<id>.lock` beside
//!                        each; removed by `system prune -a`
//! working-containers/   `berth buildah` working containers (berth-build): `<id>.json` records,
//!                        a `lock` flock; their files in `snapshots/buildah-<id>/`
//! save-<random>/         `berth save` to stdout: the archive before it is streamed (removed after)
//! load-<random>          `berth load` from stdin: the archive spooled (removed after)
//! build-cache-index/     berth before the `build_cache` table: its JSON cache index, no longer
//!                        read; `system prune` removes it
//! ```
//!
//! Principal types:
//! - [`Store`]: opens a root, owns the database and the [`ContentStore`]; image records
//!   ([`ImageRecord`]: id and manifest digest as `Digest`s, names as berth-layers
//!   `Reference`s, read from the database's text columns), names ([`names`]), snapshots
//!   ([`snapshot`]), gc and check.
//! - [`content::ContentStore`]: ingest → verify → rename; [`content::IngestWriter`].
//! - [`lock`]: berth's one file lock, [`lock::FileLock`] (`flock`, shared or exclusive),
//!   kept here as the lowest crate that takes a lock (registry, build and run use it for
//!   their own lock files), and [`lock::StoreLock`], the store-wide lock on it.
//! - [`mount::Mount`]: a mount as plain data; [`mount::MountGuard`] unmounts on drop;
//!   [`overlay`]: overlays up to 500 layers deep (lower dirs one by one through the mount
//!   API, or named by descriptor in the option string on older kernels);
//!   [`volatile`]: snapshots mounted without the unmount's sync of the whole disk.
//! - [`copy`]: [`copy::ImageSource`] / [`copy::ImageDestination`] and the one
//!   [`copy::copy_image`] routine that save, load and (later) pull and push use; every
//!   manifest it reads passes [`copy::check_manifest_document`] (berth-layers'
//!   `check_document` against its descriptor) and [`copy::check_config_size`] first, and
//!   every blob's first bytes are checked against its media type before a destination gets
//!   it; the store destination stages blobs and commits them with their manifest;
//!   [`transports`] implements them for OCI layouts, oci-archive and docker-archive.
//! - [`diff_size`]: layers' uncompressed sizes (table `diff_sizes`, by diff_id), which
//!   `images` and `history` show as Podman does.
//! - [`names`]: local image names (`localhost/…:latest`, `docker.io/library/…`) through
//!   berth-layers' one reference parser, with the store's rules (sha256 digests only; a
//!   digest wins over a tag).
//! - [`list_filter`]: which images a list shows ([`list_filter::ImageFilters`]: Podman's
//!   and Docker's image filters, for `images --filter` and both APIs).
//! - [`prune_filter`]: `image prune`'s `until` and `label` filters
//!   ([`prune_filter::ImagePruneFilter`]) over [`gc`]'s `prune_images`.
//! - [`import`]: a rootfs tarball, a directory tree or one static binary (`import_binary`,
//!   the pods' infra image) → a one-layer image.
//! - [`build_cache`]: the build cache index ([`build_cache::BuildCache`], rows by step key,
//!   live while their layer blob is stored); [`manifest_lists`]: the manifest list directory
//!   and its lock; [`layout`]: the names of the paths other crates keep under the root.
//! - [`inspect`]: an image's inspect record ([`inspect::ImageInspect`], Podman's shape);
//!   [`summary`]: an image as `images` lists it ([`summary::ImageSummary`], the record of
//!   Podman's `images --format json`, which every front end builds its list from);
//!   [`history`]: an image's history rows ([`history::HistoryEntry`], the record of
//!   `history --format json`, newest first, sizes uncompressed).
//! - [`error::StoreError`]: every variant names the digest, name or path concerned; an upper
//!   crate's error behind a transport (`Transport`) and a source's failed read (`Source`)
//!   are kept whole, not as text.
//! - [`events`]: the event log every berth process appends to and `berth events` and the
//!   API read (Podman's file backend: JSON lines under the run root, rotated past
//!   `events_logfile_max_size`); here as the lowest crate every writer depends on.
//! - [`changes`]: `diff`'s A/C/D list between two views as overlay layer stacks (a
//!   container's upper dir over its image, an image's top layer over its parent).
//! - [`reset`]: `system reset`'s removal of the store's own files, leaving an empty store.
//! - [`tree`]: `image tree` (an image's layers with their sizes and the images each tops).
//! - `testutil` (hidden): uncompressed test layers and images for tests.

pub mod build_cache;
pub mod changes;
pub mod check;
pub mod content;
pub mod copy;
pub mod db;
pub mod diff_size;
pub mod error;
pub mod events;
mod fsutil;
pub mod gc;
pub mod history;
pub mod images;
pub mod import;
pub mod inspect;
pub mod layout;
pub mod list_filter;
pub mod lock;
pub mod manifest_lists;
pub mod mount;
pub mod names;
pub mod overlay;
pub mod prune_filter;
pub mod reset;
pub mod snapshot;
pub mod store;
pub mod summary;
#[doc(hidden)]
pub mod testutil;
pub mod transports;
pub mod tree;
pub mod volatile;

pub use content::ContentStore;
pub use error::{Result, StoreError};
pub use fsutil::tree_size;
pub use images::ImageRecord;
pub use store::Store;
