//! `commit` (a container's changes → a new image, through the same overlay-upper → layer path
//! as builds), `export` (a container's whole filesystem → a tar stream) and `diff` (its
//! changes listed: berth-image-store's [`berth_image_store::changes`]).
//!
//! The new image is the container's image plus one layer made from the snapshot's upper dir;
//! its config is the image's, with a history entry, the `--change` instructions applied, and
//! the container's `-e` variables added. The container is not paused: commit a stopped
//! container for a consistent layer.

use std::io::Write;

use berth_image_store::changes::{changes, Change, LayerStack};
use berth_image_store::import::{apply_changes, host_arch};
use berth_image_store::names::normalize_local;
use berth_image_store::ImageRecord;
use berth_layers::{dir_diff_to_layer, overlay_upper_to_layer, Compression, LayerOptions};
use chrono::{SecondsFormat, Utc};
use oci_spec::image::{Descriptor, HistoryBuilder};

use crate::container::Container;
use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::spec::merge_env;

/// What a start makes in every container's upper dir, left out of its `diff` (libpod's
/// `initInodes`, the same list).
pub const START_MADE: &[&str] = &[
    "/dev",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/proc",
    "/run",
    "/run/notify",
    "/run/.containerenv",
    "/run/secrets",
    "/sys",
    "/etc/mtab",
];

/// What `commit` needs besides the container.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Name for the new image.
    pub name: Option<String>,
    /// Dockerfile-style changes (`CMD …`, `ENV k=v`, `LABEL k=v`, `USER …`, …).
    pub changes: Vec<String>,
    /// History comment (`-m`).
    pub message: Option<String>,
    /// Author (`-a`).
    pub author: Option<String>,
}

fn invalid(what: &str) -> impl Fn(oci_spec::OciSpecError) -> RunError + '_ {
    move |e| RunError::Spec(format!("commit: {what}: {e}"))
}

impl Engine<'_> {
    /// Make a new image from `c`'s image and its changes.
    pub fn commit(&self, c: &Container, opts: &CommitOptions) -> Result<ImageRecord> {
        let store = self.store();
        if c.options.rootfs.is_some() {
            return Err(RunError::FailedPrecondition(format!(
                "container {} runs an exploded root filesystem (--rootfs), not an image: \
                 nothing to commit on top of (use export, then import)",
                c.name
            )));
        }
        let name = opts.name.as_deref().map(normalize_local).transpose()?;
        let image = store.lookup_image(c.image_id.as_ref().map_or("", |id| id.as_ref()))?;
        let manifest = store.image_manifest(&image)?;
        let mut config = store.image_config(&image)?;
        let snapshot = store.snapshot(&c.snapshot)?;

        let mut inner = config.config().clone().unwrap_or_default();
        let env = inner.env().clone().unwrap_or_default();
        inner.set_env(Some(merge_env([env.as_slice(), c.options.env.as_slice()])));
        apply_changes(&mut inner, &opts.changes)?;
        config.set_config(Some(inner));

        // Blobs and the record go in under one shared lock, so gc cannot take them between.
        let _lock = store.lock_shared()?;
        let (writer, layer) = overlay_upper_to_layer(
            &snapshot.upper,
            store.content().writer()?,
            LayerOptions::default(),
        )
        .map_err(berth_image_store::StoreError::from)?;
        writer.commit(Some((&layer.digest, layer.size)))?;

        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let mut rootfs = config.rootfs().clone();
        let mut diff_ids = rootfs.diff_ids().clone();
        diff_ids.push(layer.diff_id.to_string());
        rootfs.set_diff_ids(diff_ids);
        config.set_rootfs(rootfs);
        let mut history = config.history().clone().unwrap_or_default();
        let mut entry = HistoryBuilder::default()
            .created(now.clone())
            .created_by(format!("berth commit {}", c.name));
        if let Some(m) = &opts.message {
            entry = entry.comment(m.clone());
        }
        if let Some(a) = &opts.author {
            entry = entry.author(a.clone());
            config.set_author(Some(a.clone()));
        }
        history.push(entry.build().map_err(invalid("history"))?);
        config.set_history(Some(history));
        config.set_created(Some(now));
        if config.architecture().to_string().is_empty() {
            config.set_architecture(host_arch().into());
        }
        let mut layers = manifest.layers().clone();
        layers.push(Descriptor::new(
            layer.media_type.clone(),
            layer.size,
            layer.digest.clone(),
        ));
        let names: Vec<String> = name.into_iter().collect();
        Ok(store.commit_image(&config, layers, &names)?)
    }

    /// `c`'s file system as overlay layers: its snapshot's upper dir over its image's.
    pub fn container_stack(&self, c: &Container) -> Result<LayerStack> {
        Ok(self.store().snapshot_stack(&c.snapshot)?)
    }

    /// `diff C`: what `c` changed over its image (its upper dir against the layers below),
    /// without the mount points every start makes ([`START_MADE`]).
    pub fn changes(&self, c: &Container) -> Result<Vec<Change>> {
        let to = self.container_stack(c)?;
        let from = LayerStack(to.0.iter().skip(1).cloned().collect());
        let mut list = changes(&from, &to)?;
        list.retain(|ch| !START_MADE.contains(&ch.path.as_str()));
        Ok(list)
    }

    /// Write `c`'s whole filesystem (image plus changes) to `out` as an uncompressed tar.
    pub fn export<W: Write + Send + 'static>(&self, c: &Container, out: W) -> Result<W> {
        let snap = self.container_snapshot(c)?;
        let was_mounted = berth_image_store::mount::is_mounted(&snap.mountpoint);
        let mut guards = Vec::new();
        if !was_mounted {
            for m in &snap.mounts {
                guards.push(m.mount(&snap.mountpoint)?);
            }
        }
        let options = LayerOptions {
            compression: Compression::None,
            ..LayerOptions::default()
        };
        let (out, _) = dir_diff_to_layer(None, &snap.mountpoint, out, options)
            .map_err(berth_image_store::StoreError::from)?;
        drop(guards);
        Ok(out)
    }
}
