//! The image a stage is making: its config and layer list, changed step by step as values
//! (a new layer + history entry, or a config change + an empty-layer history entry), and
//! written to the store as an unnamed intermediate image when something needs its layers
//! stored as an image (the next filesystem step's snapshot is prepared over it, another
//! stage starts from it or copies from it), or as the final, named image. A stage's last
//! layer, and layers reused from the cache one after the other, are never written as an
//! intermediate image of their own.

use std::path::Path;

use berth_image_store::import::{host_arch, DEFAULT_PATH_ENV};
use berth_image_store::{ImageRecord, Store};
use berth_layers::media_type::{KnownMediaType, Schema};
use berth_layers::Compression;
use berth_layers::{overlay_upper_to_layer, LayerOptions};
use chrono::{SecondsFormat, Utc};
use oci_spec::image::{
    Arch, Config, Descriptor, HistoryBuilder, ImageConfiguration, ImageConfigurationBuilder,
    ImageManifestBuilder, MediaType, Os, RootFsBuilder,
};

use crate::error::{BuildError, Result};
use crate::extras::Extras;

/// `--format`: the manifest and config media types of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Oci,
    Docker,
}

impl std::str::FromStr for Format {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "oci" => Ok(Format::Oci),
            "docker" => Ok(Format::Docker),
            other => Err(BuildError::Invalid(format!(
                "unknown --format {other:?}: use oci or docker"
            ))),
        }
    }
}

/// A stage's image in the making.
#[derive(Debug, Clone)]
pub struct ImageState {
    pub config: ImageConfiguration,
    pub layers: Vec<Descriptor>,
    /// The stored image holding exactly `layers` (None for `FROM scratch` before any layer):
    /// what the next snapshot is prepared over. Behind when `base_stale`: see
    /// [`ImageState::store_base`].
    pub base: Option<ImageRecord>,
    /// Layers were appended since `base` was written.
    pub base_stale: bool,
    /// `--timestamp`: every created time and file mtime (seconds since the epoch), for
    /// reproducible images.
    pub timestamp: Option<i64>,
    /// Docker config fields oci-spec lacks (HEALTHCHECK, ONBUILD).
    pub extras: Extras,
    /// Where the stage started (its FROM image): what `--squash` keeps.
    pub from: FromPoint,
}

/// The layers, history entries and stored image a stage started from.
#[derive(Debug, Clone, Default)]
pub struct FromPoint {
    pub layers: usize,
    pub history: usize,
    pub base: Option<ImageRecord>,
}

/// How the final image is written.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions<'a> {
    pub names: &'a [String],
    pub format: Format,
    /// Manifest annotations (`--annotation`).
    pub annotations: &'a [(String, String)],
    /// Write the config without history entries (`--omit-history`).
    pub omit_history: bool,
}

fn spec_err(what: &str) -> impl Fn(oci_spec::OciSpecError) -> BuildError + '_ {
    move |e| BuildError::Invalid(format!("building the image {what}: {e}"))
}

fn time_text(timestamp: Option<i64>) -> String {
    let t = timestamp
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or_else(Utc::now);
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

impl ImageState {
    /// `FROM scratch`: no layers, the default `PATH`.
    pub fn scratch() -> Result<ImageState> {
        let mut inner = Config::default();
        inner.set_env(Some(vec![DEFAULT_PATH_ENV.to_string()]));
        let config = ImageConfigurationBuilder::default()
            .architecture(Arch::from(host_arch()))
            .os(Os::Linux)
            .config(inner)
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(Vec::<String>::new())
                    .build()
                    .map_err(spec_err("rootfs"))?,
            )
            .build()
            .map_err(spec_err("config"))?;
        Ok(ImageState {
            config,
            layers: Vec::new(),
            base: None,
            base_stale: false,
            timestamp: None,
            extras: Extras::default(),
            from: FromPoint::default(),
        })
    }

    /// `FROM image`: the image's config and layers.
    pub fn from_image(store: &Store, image: &ImageRecord) -> Result<ImageState> {
        let manifest = store.image_manifest(image)?;
        let config = store.image_config(image)?;
        let raw = store
            .content()
            .read_small(&image.id, berth_image_store::images::CONFIG_LIMIT)?;
        Ok(ImageState {
            config,
            layers: manifest.layers().clone(),
            base: Some(image.clone()),
            base_stale: false,
            timestamp: None,
            extras: Extras::from_config_json(&raw),
            from: FromPoint::default(),
        })
    }

    /// Record the current state as the stage's starting point (right after FROM; `base`
    /// must be stored, see [`ImageState::store_base`]).
    pub fn mark_from(&mut self) {
        debug_assert!(!self.base_stale, "a stage starts from a stored image");
        self.from = FromPoint {
            layers: self.layers.len(),
            history: self.config.history().as_ref().map_or(0, Vec::len),
            base: self.base.clone(),
        };
    }

    /// Drop every layer from index `keep` on (with their diff_ids), mark every history entry
    /// from `first_history` on as empty, and make `base` the stored image holding the kept
    /// layers: the state a squashed layer is then committed onto.
    pub fn truncate_layers(
        &mut self,
        keep: usize,
        first_history: usize,
        base: Option<ImageRecord>,
    ) {
        self.layers.truncate(keep);
        let mut rootfs = self.config.rootfs().clone();
        let mut ids = rootfs.diff_ids().clone();
        ids.truncate(keep);
        rootfs.set_diff_ids(ids);
        self.config.set_rootfs(rootfs);
        let mut history = self.config.history().clone().unwrap_or_default();
        for h in history.iter_mut().skip(first_history) {
            h.set_empty_layer(Some(true));
        }
        self.config.set_history(Some(history));
        self.base = base;
        self.base_stale = false;
    }

    /// The runtime config (`config` in the image config), never absent.
    pub fn inner(&self) -> Config {
        self.config.config().clone().unwrap_or_default()
    }

    /// Replace the runtime config and add an empty-layer history entry.
    pub fn set_inner(&mut self, inner: Config, created_by: &str) -> Result<()> {
        self.config.set_config(Some(inner));
        self.history_entry(created_by, true)
    }

    /// Add a history entry (`empty`: the step made no layer).
    pub fn history_entry(&mut self, created_by: &str, empty: bool) -> Result<()> {
        let mut h = HistoryBuilder::default()
            .created(time_text(self.timestamp))
            .created_by(created_by.to_string());
        if empty {
            h = h.empty_layer(true);
        }
        let mut all = self.config.history().clone().unwrap_or_default();
        all.push(h.build().map_err(spec_err("history"))?);
        self.config.set_history(Some(all));
        Ok(())
    }

    /// The created time of the last history entry.
    pub fn last_created(&self) -> Option<String> {
        self.config.history().as_ref()?.last()?.created().clone()
    }

    /// Set the created time of the last history entry (a step's time taken from the cache).
    pub fn set_last_created(&mut self, created: &str) {
        let mut all = self.config.history().clone().unwrap_or_default();
        if let Some(last) = all.last_mut() {
            last.set_created(Some(created.to_string()));
        }
        self.config.set_history(Some(all));
    }

    /// The image's created time: `--timestamp`'s, else its last step's (so that a rebuild
    /// whose steps all come from the cache makes the same image), else now.
    fn created(&self) -> String {
        match self.timestamp {
            Some(_) => time_text(self.timestamp),
            None => self
                .last_created()
                .unwrap_or_else(|| time_text(self.timestamp)),
        }
    }

    /// Turn a snapshot's upper dir into a new layer and append it with a history entry.
    pub fn commit_upper(&mut self, store: &Store, upper: &Path, created_by: &str) -> Result<()> {
        let _lock = store.lock_shared()?;
        let layer_options = LayerOptions {
            mtime: self.timestamp.and_then(|t| u64::try_from(t).ok()),
            ..LayerOptions::default()
        };
        let (writer, layer) =
            overlay_upper_to_layer(upper, store.content().writer()?, layer_options)
                .map_err(berth_image_store::StoreError::from)?;
        writer.commit(Some((&layer.digest, layer.size)))?;
        let desc = Descriptor::new(layer.media_type.clone(), layer.size, layer.digest.clone());
        self.append_layer(desc, layer.diff_id.as_ref(), created_by)
    }

    /// Append a layer already in the content store (a new one, or a cached one) with a
    /// history entry. `base` is then behind until [`Self::store_base`].
    pub fn append_layer(
        &mut self,
        layer: Descriptor,
        diff_id: &str,
        created_by: &str,
    ) -> Result<()> {
        let mut rootfs = self.config.rootfs().clone();
        let mut diff_ids = rootfs.diff_ids().clone();
        diff_ids.push(diff_id.to_string());
        rootfs.set_diff_ids(diff_ids);
        self.config.set_rootfs(rootfs);
        self.layers.push(layer);
        self.history_entry(created_by, false)?;
        self.base_stale = true;
        Ok(())
    }

    /// Bring `base` up to `layers`: record the current state as an unnamed intermediate
    /// image if layers were appended since it was last written. Returns the image when this
    /// made it (so the caller can remove it after the build), `None` when nothing was
    /// written or an identical image was already in the store.
    pub fn store_base(&mut self, store: &Store) -> Result<Option<ImageRecord>> {
        if !self.base_stale {
            return Ok(None);
        }
        let (record, made) = self.write(store, &WriteOptions::default())?;
        self.base = Some(record.clone());
        self.base_stale = false;
        Ok(made.then_some(record))
    }

    /// The last layer and its diff_id (what a cache entry records).
    pub fn last_layer(&self) -> Option<(Descriptor, String)> {
        let layer = self.layers.last()?.clone();
        let diff_id = self.config.rootfs().diff_ids().last()?.clone();
        Some((layer, diff_id))
    }

    /// Write config and manifest blobs and record the image; returns it and whether it is
    /// new to the store.
    /// The config blob an image of this state has (without history for `--omit-history`).
    fn config_bytes(&self, omit_history: bool) -> Result<Vec<u8>> {
        let mut config = self.config.clone();
        config.set_created(Some(self.created()));
        if omit_history {
            config.set_history(None);
        }
        let encode =
            |e: serde_json::Error| BuildError::Invalid(format!("encoding the image config: {e}"));
        let mut value = serde_json::to_value(&config).map_err(encode)?;
        self.extras.merge_into(&mut value);
        serde_json::to_vec(&value).map_err(encode)
    }

    /// The id an image of this state has (the digest of its config, in hex), as a build
    /// step's result is shown (`--> <id>`).
    pub fn id(&self) -> Result<String> {
        let bytes = self.config_bytes(false)?;
        Ok(berth_layers::digest::digest_bytes(&bytes)
            .digest()
            .to_string())
    }

    pub fn write(&self, store: &Store, opts: &WriteOptions<'_>) -> Result<(ImageRecord, bool)> {
        let format = opts.format;
        let config_bytes = self.config_bytes(opts.omit_history)?;
        let (config_digest, config_size) = store.content().put_bytes(&config_bytes)?;
        let existed = store.lookup_image(config_digest.as_ref()).is_ok();
        let (manifest_type, config_type) = match format {
            Format::Oci => (MediaType::ImageManifest, MediaType::ImageConfig),
            Format::Docker => (
                KnownMediaType::Manifest(Schema::DockerV2s2).media_type(),
                KnownMediaType::Config(Schema::DockerV2s2).media_type(),
            ),
        };
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let mut l = l.clone();
                if format == Format::Docker {
                    l.set_media_type(docker_layer_type(l.media_type()));
                }
                l
            })
            .collect::<Vec<_>>();
        let mut manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(manifest_type)
            .config(Descriptor::new(config_type, config_size, config_digest))
            .layers(layers)
            .build()
            .map_err(spec_err("manifest"))?;
        if !opts.annotations.is_empty() {
            manifest.set_annotations(Some(opts.annotations.iter().cloned().collect()));
        }
        let manifest_bytes = serde_json::to_vec(&manifest)
            .map_err(|e| BuildError::Invalid(format!("encoding the image manifest: {e}")))?;
        let (manifest_digest, _) = store.content().put_bytes(&manifest_bytes)?;
        Ok((store.add_image(&manifest_digest, opts.names)?, !existed))
    }
}

/// The Docker v2s2 layer media type matching an OCI one (plain or gzip; others unchanged).
fn docker_layer_type(t: &MediaType) -> MediaType {
    match KnownMediaType::of(t) {
        Some(KnownMediaType::Layer {
            schema: Schema::Oci,
            codec: codec @ (Compression::None | Compression::Gzip),
            distributable: true,
        }) => KnownMediaType::layer(Schema::DockerV2s2, codec)
            .expect("v2s2 has plain and gzip layers")
            .media_type(),
        _ => t.clone(),
    }
}
