//! `berth copy SRC DST` across transports, through the store's one copy routine:
//! `docker://REF`, `oci:PATH[:REF]`, `oci-archive:PATH[:REF]`, `docker-archive:PATH[:REF]`,
//! and the store (`containers-storage:NAME` or a bare name).
//!
//! A `docker://` source passes the trust gate (policy and signatures) before any blob is read.
//! Local sources are checked against the policy of their transport (`oci`, `oci-archive`,
//! `docker-archive`, `containers-storage`; the scope is the absolute path or the image name);
//! they carry no signatures, so only `insecureAcceptAnything` and `reject` can pass or fail
//! them, and a requirement for a signature refuses them.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use berth_image_store::copy::{
    copy_image, ImageDestination, ImageSource, SourceImage, StoreDestination, StoreSource,
};
use berth_image_store::transports::docker_archive::{
    DockerArchiveDestination, DockerArchiveSource,
};
use berth_image_store::transports::oci_archive::ScannedLayout;
use berth_image_store::transports::oci_layout::{LayoutDestination, LayoutSource};
use berth_image_store::transports::scan::scan_archive;
use berth_image_store::transports::sink::{DirSink, TarSink};
use berth_image_store::Store;
use berth_layers::atomic_file::AtomicFile;
use berth_layers::compression::decompress;
use berth_layers::media_type;
use berth_layers::Digest;
use berth_trust::{NoSignatures, Policy, UnverifiedImage};
use oci_spec::image::{Descriptor, MediaType};

use crate::config::RegistriesConf;
use crate::connect::ConnectOptions;
use crate::copy_list::copy_list;
use crate::error::{RegistryError, Result};
use crate::pull::{fetch_verified, store_verified, PullOptions};
use crate::remote::{Progress, RegistryDestination, RegistrySource};
use crate::signatures::{sign_image, SignOptions};

/// Where an image is read from or written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `docker://REF`.
    Docker(String),
    /// `oci:PATH[:REF]`.
    Oci(PathBuf, Option<String>),
    /// `oci-archive:PATH[:REF]`.
    OciArchive(PathBuf, Option<String>),
    /// `docker-archive:PATH[:REF]`.
    DockerArchive(PathBuf, Option<String>),
    /// The store: `containers-storage:NAME` or a bare name.
    Store(String),
}

impl Location {
    /// Parse a transport-qualified name.
    pub fn parse(s: &str) -> Result<Location> {
        let split = |rest: &str| -> (PathBuf, Option<String>) {
            match rest.split_once(':') {
                Some((p, r)) if !r.is_empty() => (PathBuf::from(p), Some(r.to_string())),
                Some((p, _)) => (PathBuf::from(p), None),
                None => (PathBuf::from(rest), None),
            }
        };
        let bad = |why: &str| RegistryError::Reference {
            input: s.to_string(),
            why: why.to_string(),
        };
        if let Some(r) = s.strip_prefix("docker://") {
            return Ok(Location::Docker(r.to_string()));
        }
        for (prefix, make) in [
            (
                "oci:",
                Location::Oci as fn(PathBuf, Option<String>) -> Location,
            ),
            ("oci-archive:", Location::OciArchive),
            ("docker-archive:", Location::DockerArchive),
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                if rest.is_empty() {
                    return Err(bad("no path"));
                }
                let (p, r) = split(rest);
                return Ok(make(p, r));
            }
        }
        if let Some(name) = s.strip_prefix("containers-storage:") {
            if name.is_empty() {
                return Err(bad("no image name"));
            }
            return Ok(Location::Store(name.to_string()));
        }
        if let Some((t, _)) = s.split_once(':') {
            if ["dir", "docker-daemon", "sif", "ostree"].contains(&t) {
                return Err(bad(&format!("transport {t:?} is not supported")));
            }
        }
        Ok(Location::Store(s.to_string()))
    }
}

/// Options of a copy.
#[derive(Default)]
pub struct CopyOptions {
    /// For a `docker://` source: connection, platform, retries, policy.
    pub source: PullOptions,
    /// For a `docker://` destination.
    pub destination: ConnectOptions,
    /// Signing of a `docker://` destination.
    pub sign: SignOptions,
    /// `--all`: copy a manifest list with every image in it (else one platform).
    pub all: bool,
}

/// Copy one image from `src` to `dst`; returns the manifest digest written.
pub fn copy(
    store: &Store,
    src: &Location,
    dst: &Location,
    opts: &CopyOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    match src {
        Location::Docker(r) => {
            let source_opts = PullOptions {
                all_platforms: opts.all,
                ..opts.source.clone()
            };
            let mut fetched = fetch_verified(r, &source_opts, progress)?;
            if media_type::is_index(fetched.image.media_type()) {
                let Location::Docker(dest) = dst else {
                    return Err(RegistryError::Invalid {
                        what: format!("copy --all of {}", fetched.reference),
                        message: "a manifest list can be copied only to a docker:// destination"
                            .into(),
                    });
                };
                return copy_list(&fetched, dest, &opts.destination, &opts.sign, progress);
            }
            if let Location::Store(name) = dst {
                // Into the store: the pull pipeline (parallel, retried), under `name`.
                let parsed = crate::reference::parse(name)?;
                fetched.reference = parsed.qualify_or("localhost")?.with_default_tag();
                let record = store_verified(store, &fetched, &opts.source, progress)?;
                return Ok(record.manifest_digest);
            }
            let source = RegistrySource::new(
                fetched.client.clone(),
                fetched.endpoint.repository(),
                fetched.image.clone(),
                vec![fetched.reference.store_name()],
            );
            to_destination(store, &source, None, None, dst, opts, progress)
        }
        Location::Oci(path, r) => {
            let source = LayoutSource::open(path)?;
            let index_path = path.join("index.json");
            let wanted = match r {
                Some(r) => {
                    let bytes = std::fs::read(&index_path)
                        .map_err(|e| RegistryError::io(&index_path, e))?;
                    Some(ref_digest(&bytes, r, path)?)
                }
                None => None,
            };
            let local = LocalPolicy::new("oci", path, r.as_deref());
            to_destination(
                store,
                &source,
                wanted.as_deref(),
                Some(local),
                dst,
                opts,
                progress,
            )
        }
        Location::OciArchive(path, r) | Location::DockerArchive(path, r) => {
            let file = File::open(path).map_err(|e| RegistryError::io(path, e))?;
            let (_, tar) =
                decompress(BufReader::new(file)).map_err(|e| RegistryError::io(path, e))?;
            let scanned = scan_archive(store, tar, path)?;
            let what = path.display().to_string();
            if matches!(src, Location::OciArchive(..)) {
                let source = ScannedLayout::new(&scanned, &what)?;
                let wanted = match (r, scanned.small.get("index.json")) {
                    (Some(r), Some(bytes)) => Some(ref_digest(bytes, r, path)?),
                    _ => None,
                };
                let local = LocalPolicy::new("oci-archive", path, r.as_deref());
                to_destination(
                    store,
                    &source,
                    wanted.as_deref(),
                    Some(local),
                    dst,
                    opts,
                    progress,
                )
            } else {
                let source = DockerArchiveSource::new(&scanned, &what)?;
                let local = LocalPolicy::new("docker-archive", path, r.as_deref());
                to_destination(
                    store,
                    &source,
                    r.as_deref(),
                    Some(local),
                    dst,
                    opts,
                    progress,
                )
            }
        }
        Location::Store(name) => {
            let record = store.lookup_image(name)?;
            let source = StoreSource::new(store, &[(record, vec![])])?;
            let local = LocalPolicy {
                transport: "containers-storage",
                scope: name.clone(),
            };
            to_destination(store, &source, None, Some(local), dst, opts, progress)
        }
    }
}

/// The manifest digest an OCI index names `reference` (`org.opencontainers.image.ref.name`).
fn ref_digest(index: &[u8], reference: &str, path: &Path) -> Result<String> {
    let what = || format!("{}: index.json", path.display());
    let index =
        oci_spec::image::ImageIndex::from_reader(index).map_err(|e| RegistryError::Invalid {
            what: what(),
            message: e.to_string(),
        })?;
    index
        .manifests()
        .iter()
        .find(|d| {
            d.annotations()
                .as_ref()
                .and_then(|a| a.get("org.opencontainers.image.ref.name"))
                .is_some_and(|n| n == reference)
        })
        .map(|d| d.digest().to_string())
        .ok_or_else(|| RegistryError::Invalid {
            what: what(),
            message: format!("no image with reference {reference:?}"),
        })
}

/// The image of `source` named `wanted` (a name, or a manifest digest), or its only image.
fn select(source: &dyn ImageSource, wanted: Option<&str>, what: &str) -> Result<SourceImage> {
    let images = source.images()?;
    let invalid = |message: String| RegistryError::Invalid {
        what: what.to_string(),
        message,
    };
    match wanted {
        Some(w) => images
            .into_iter()
            .find(|i| {
                i.manifest.digest().as_ref() == w
                    || i.names.iter().any(|n| {
                        n == w
                            || n.ends_with(&format!("/{w}"))
                            || n.ends_with(&format!("/{w}:latest"))
                            || n.ends_with(&format!(":{w}"))
                    })
            })
            .ok_or_else(|| invalid(format!("no image named {w:?}"))),
        None => {
            let count = images.len();
            let mut images = images;
            match images.pop() {
                Some(one) if count == 1 => Ok(one),
                _ => Err(invalid(format!(
                    "{count} images: name one (TRANSPORT:PATH:NAME)"
                ))),
            }
        }
    }
}

/// The policy transport and scope of a local copy source.
struct LocalPolicy {
    transport: &'static str,
    scope: String,
}

impl LocalPolicy {
    fn new(transport: &'static str, path: &Path, reference: Option<&str>) -> LocalPolicy {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut scope = abs.display().to_string();
        if let Some(r) = reference {
            scope = format!("{scope}:{r}");
        }
        LocalPolicy { transport, scope }
    }

    /// Check `image` of `source` against the policy (no signatures: local transports carry
    /// none).
    fn check(
        &self,
        source: &dyn ImageSource,
        image: &SourceImage,
        policy: Option<&Path>,
    ) -> Result<()> {
        let policy = Policy::load(policy)?;
        let manifest = source.manifest_bytes(image)?;
        let digest = image.manifest.digest().clone();
        let unverified = UnverifiedImage {
            transport: self.transport.to_string(),
            reference: self.scope.clone(),
            digest: digest.clone(),
            signed_digest: digest,
            media_type: image.manifest.media_type().to_string(),
            manifest,
        };
        policy.verify(unverified, &mut NoSignatures)?;
        Ok(())
    }
}

fn to_destination(
    store: &Store,
    source: &dyn ImageSource,
    wanted: Option<&str>,
    local: Option<LocalPolicy>,
    dst: &Location,
    opts: &CopyOptions,
    progress: Progress<'_>,
) -> Result<Digest> {
    let mut image = select(source, wanted, "copy source")?;
    if let Some(local) = local {
        local.check(source, &image, opts.source.signature_policy.as_deref())?;
    }
    progress("Getting image source signatures");
    match dst {
        Location::Docker(r) => {
            let reference = crate::reference::parse_docker(r)?;
            let endpoint = RegistriesConf::load()?.push_endpoint(&reference)?;
            let target = endpoint.reference;
            let client =
                opts.destination
                    .connect(target.registry(), &target.name(), endpoint.insecure)?;
            let repository = target.repository().to_string();
            let mut d = RegistryDestination::new(client.clone(), target, progress);
            let digest = copy_image(source, &image, &mut d)?;
            sign_image(
                &client,
                &repository,
                &reference,
                &digest,
                &opts.sign,
                progress,
            )?;
            Ok(digest)
        }
        Location::Store(name) => {
            image.names = vec![name.clone()];
            let mut d = StoreDestination::new(store)?;
            let digest = announced(source, &image, &mut d, progress)?;
            progress("Writing manifest to image destination");
            d.finish()?;
            Ok(digest)
        }
        Location::Oci(path, r) => {
            image.names = r.iter().cloned().collect();
            let mut d = LayoutDestination::new(DirSink::new(path)?, path);
            finish(
                announced(source, &image, &mut d, progress),
                &mut d,
                progress,
            )
        }
        Location::OciArchive(path, r) => {
            image.names = r.iter().cloned().collect();
            let (out, file) = create(path)?;
            let mut d = LayoutDestination::new(TarSink::new(file), path);
            let result = finish(
                announced(source, &image, &mut d, progress),
                &mut d,
                progress,
            );
            commit(result, out)
        }
        Location::DockerArchive(path, r) => {
            image.names = r.iter().cloned().collect();
            let (out, file) = create(path)?;
            let mut d = DockerArchiveDestination::new(file, &store.root().join("ingest"), path);
            let result = finish(
                announced(source, &image, &mut d, progress),
                &mut d,
                progress,
            );
            commit(result, out)
        }
    }
}

/// Prints `Copying blob …` lines around a local destination.
struct Announce<'d, 'p> {
    inner: &'d mut dyn ImageDestination,
    progress: Progress<'p>,
}

impl ImageDestination for Announce<'_, '_> {
    fn has_blob(&mut self, desc: &Descriptor) -> berth_image_store::Result<bool> {
        let present = self.inner.has_blob(desc)?;
        if present {
            (self.progress)(&format!(
                "Copying blob {} skipped: already exists",
                desc.digest()
            ));
        }
        Ok(present)
    }

    fn put_blob(
        &mut self,
        desc: &Descriptor,
        reader: &mut (dyn std::io::Read + Send),
    ) -> berth_image_store::Result<()> {
        (self.progress)(&format!("Copying blob {}", desc.digest()));
        self.inner.put_blob(desc, reader)
    }

    fn put_manifest(
        &mut self,
        bytes: &[u8],
        media_type: &MediaType,
        names: &[String],
    ) -> berth_image_store::Result<Digest> {
        self.inner.put_manifest(bytes, media_type, names)
    }

    fn finish(&mut self) -> berth_image_store::Result<()> {
        self.inner.finish()
    }

    fn check_manifest(&self, bytes: &[u8], what: &str) -> berth_image_store::Result<()> {
        self.inner.check_manifest(bytes, what)
    }
}

fn announced(
    source: &dyn ImageSource,
    image: &SourceImage,
    d: &mut dyn ImageDestination,
    progress: Progress<'_>,
) -> berth_image_store::Result<Digest> {
    copy_image(source, image, &mut Announce { inner: d, progress })
}

/// An archive written beside `path` and renamed over it once complete (mode 0644, as `save`).
fn create(path: &Path) -> Result<(AtomicFile, File)> {
    let out = AtomicFile::create(path, 0o644).map_err(|e| RegistryError::io(path, e))?;
    let file = out
        .as_file()
        .try_clone()
        .map_err(|e| RegistryError::io(path, e))?;
    Ok((out, file))
}

fn finish(
    copied: berth_image_store::Result<Digest>,
    d: &mut dyn ImageDestination,
    progress: Progress<'_>,
) -> Result<Digest> {
    let digest = copied?;
    progress("Writing manifest to image destination");
    d.finish()?;
    Ok(digest)
}

/// Rename a complete archive into place; a failed one is removed and `path` left as it was.
fn commit(result: Result<Digest>, out: AtomicFile) -> Result<Digest> {
    let digest = result?;
    let path = out.path().to_path_buf();
    out.commit().map_err(|e| RegistryError::io(path, e))?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("docker://a.io/b:1").unwrap(),
            Location::Docker("a.io/b:1".into())
        );
        assert_eq!(
            Location::parse("oci:/tmp/x:v1").unwrap(),
            Location::Oci("/tmp/x".into(), Some("v1".into()))
        );
        assert_eq!(
            Location::parse("docker-archive:/t.tar").unwrap(),
            Location::DockerArchive("/t.tar".into(), None)
        );
        assert_eq!(
            Location::parse("containers-storage:busybox").unwrap(),
            Location::Store("busybox".into())
        );
        assert_eq!(
            Location::parse("localhost:5000/x:1").unwrap(),
            Location::Store("localhost:5000/x:1".into())
        );
        assert!(Location::parse("oci:").is_err());
        assert!(Location::parse("dir:/x").is_err());
    }
}
