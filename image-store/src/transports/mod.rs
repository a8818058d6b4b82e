//! Local transports: OCI image layout directories, oci-archive, docker-archive, and the store.
//!
//! - [`save`]: images from the store → an archive or layout (`berth save`).
//! - [`load`]: an archive or layout → the store (`berth load`), format detected;
//!   [`load_stream`] an archive from a stream (stdin, the API's request body).

pub mod docker_archive;
pub mod oci_archive;
pub mod oci_layout;
pub mod scan;
pub mod sink;

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use berth_layers::compression::decompress;

use crate::copy::{copy_all, StoreDestination, StoreSource};
use crate::error::{Result, StoreError};
use crate::images::ImageRecord;
use crate::store::Store;
use docker_archive::{DockerArchiveDestination, DockerArchiveSource};
use oci_archive::ScannedLayout;
use oci_layout::{LayoutDestination, LayoutSource};
use sink::{DirSink, TarSink};

/// Output format of `berth save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// A tar of an OCI image layout (`oci-archive`).
    OciArchive,
    /// A `docker save` tarball (`docker-archive`, manifest.json + per-layer tars).
    DockerArchive,
    /// An OCI image layout directory (`oci-dir`).
    OciDir,
}

impl ArchiveFormat {
    /// Parse Podman's `--format` value.
    pub fn parse(s: &str) -> Option<ArchiveFormat> {
        match s {
            "oci-archive" => Some(ArchiveFormat::OciArchive),
            "docker-archive" => Some(ArchiveFormat::DockerArchive),
            "oci-dir" => Some(ArchiveFormat::OciDir),
            _ => None,
        }
    }
}

/// One image to save, with the name the user asked for (written into the archive as
/// `RepoTags` or `org.opencontainers.image.ref.name`).
#[derive(Debug, Clone)]
pub struct SaveItem {
    /// The image.
    pub image: ImageRecord,
    /// The name as the user gave it, normalized, if it was a name.
    pub name: Option<String>,
}

impl SaveItem {
    /// The image `name` (a name or an id) names in `store`, with the name to write: the
    /// image's own name matching `name` as given or normalized; for an id, none; else the
    /// image's first name.
    pub fn lookup(store: &Store, name: &str) -> Result<SaveItem> {
        let image = store.lookup_image(name)?;
        let normalized = crate::names::normalize_local(name).ok();
        let requested = image
            .names
            .iter()
            .map(ToString::to_string)
            .find(|n| normalized.as_ref() == Some(n) || n == name)
            .or_else(|| {
                let is_id = image
                    .id
                    .digest()
                    .starts_with(name.trim_start_matches("sha256:"));
                if is_id {
                    None
                } else {
                    image.names.first().map(ToString::to_string)
                }
            });
        Ok(SaveItem {
            image,
            name: requested,
        })
    }
}

/// Write `items` to `output` in `format`. The output is written under a temp name beside
/// `output` and renamed at the end, so a failure leaves no half-written file.
pub fn save(store: &Store, items: &[SaveItem], format: ArchiveFormat, output: &Path) -> Result<()> {
    let images: Vec<(ImageRecord, Vec<String>)> = items
        .iter()
        .map(|i| (i.image.clone(), i.name.iter().cloned().collect()))
        .collect();
    let source = StoreSource::new(store, &images)?;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let io_err = |e: io::Error| StoreError::io(output, e);
    match format {
        ArchiveFormat::OciArchive | ArchiveFormat::DockerArchive => {
            // Mode 0644 from creation (an existing output's tighter mode is kept).
            let tmp = berth_layers::atomic_file::AtomicFile::create(output, 0o644)
                .map_err(|e| StoreError::io(parent, e))?;
            let file = tmp.as_file().try_clone().map_err(io_err)?;
            if format == ArchiveFormat::OciArchive {
                let mut dst = LayoutDestination::new(TarSink::new(file), output);
                copy_all(&source, &mut dst)?;
            } else {
                let spool = store.root().join("ingest");
                let mut dst = DockerArchiveDestination::new(file, &spool, output);
                copy_all(&source, &mut dst)?;
            }
            tmp.commit().map_err(io_err)?;
        }
        ArchiveFormat::OciDir => {
            let tmp = tempfile::Builder::new()
                .prefix(".berth-save-")
                .tempdir_in(parent)
                .map_err(|e| StoreError::io(parent, e))?;
            let mut dst = LayoutDestination::new(DirSink::new(tmp.path())?, output);
            copy_all(&source, &mut dst)?;
            fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).map_err(io_err)?;
            fs::rename(tmp.path(), output).map_err(io_err)?;
            // The directory now lives at `output`; nothing is left to clean up.
            let _ = tmp.keep();
        }
    }
    for item in items {
        let path = output.display().to_string();
        crate::events::emit(crate::events::Event::image(
            "save",
            item.image.hex_id(),
            &path,
        ));
    }
    Ok(())
}

/// Load every image in the archive or layout at `input` (docker-archive, oci-archive, or an
/// OCI layout directory; the archive may be gzip- or zstd-compressed). Every blob is verified
/// while it streams into the store; when anything fails, no image is recorded.
pub fn load(store: &Store, input: &Path) -> Result<Vec<ImageRecord>> {
    let records = load_records(store, input)?;
    // Podman's event for a load: one, naming the archive.
    let path = input.display().to_string();
    crate::events::emit(crate::events::Event::image("loadfromarchive", "", &path));
    Ok(records)
}

fn load_records(store: &Store, input: &Path) -> Result<Vec<ImageRecord>> {
    let meta = fs::metadata(input).map_err(|e| StoreError::io(input, e))?;
    // Taken first: it holds the store lock across spooling, blobs and records.
    let mut dst = StoreDestination::new(store)?;
    if meta.is_dir() {
        let source = LayoutSource::open(input)?;
        copy_all(&source, &mut dst)?;
        return Ok(dst.records);
    }
    let file = File::open(input).map_err(|e| StoreError::io(input, e))?;
    let (_, tar) = decompress(BufReader::new(file)).map_err(|e| StoreError::io(input, e))?;
    let scanned = scan::scan_archive(store, tar, input)?;
    let what = input.display().to_string();
    if scanned.small.contains_key("index.json") {
        let source = ScannedLayout::new(&scanned, &what)?;
        copy_all(&source, &mut dst)?;
    } else if scanned.small.contains_key("manifest.json") {
        let source = DockerArchiveSource::new(&scanned, &what)?;
        copy_all(&source, &mut dst)?;
    } else {
        return Err(StoreError::Invalid(format!(
            "{what}: neither an oci-archive (index.json) nor a docker-archive (manifest.json)"
        )));
    }
    Ok(dst.records)
}

/// [`load`] of an archive read from a stream (stdin, a request body), named `what` in
/// messages. The stream is first spooled to a file in the store (no lock held while a slow
/// writer sends it), then loaded; nothing is held in memory.
pub fn load_stream(
    store: &Store,
    mut input: impl io::Read,
    what: &str,
) -> Result<Vec<ImageRecord>> {
    let dir = store.root();
    let mut spool = tempfile::Builder::new()
        .prefix("load-")
        .tempfile_in(dir)
        .map_err(|e| StoreError::io(dir, e))?;
    io::copy(&mut input, spool.as_file_mut())
        .map_err(|e| StoreError::Invalid(format!("{what}: reading the archive: {e}")))?;
    load(store, spool.path())
}
