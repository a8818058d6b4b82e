//! `commit`: a working container's upper dir becomes one new layer over its base image's
//! (always one, as Buildah), with the container's config, through the build's own image
//! writer ([`crate::image::ImageState`]); `--squash` merges every layer into one through the build's
//! squash; `--rm` removes the container after.

use berth_image_store::{ImageRecord, Store};

use super::record::Records;
use crate::error::Result;
use crate::executor::squash::squash;
use crate::executor::Squash;
use crate::image::{Format, WriteOptions};

/// `commit`'s options.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The image's names (none: an unnamed image).
    pub names: Vec<String>,
    pub format: Format,
    /// `--squash`: the image as one layer.
    pub squash: bool,
    /// `--rm`: remove the working container once committed.
    pub rm: bool,
    /// `--timestamp`: created times and file mtimes (seconds since the epoch).
    pub timestamp: Option<i64>,
    /// `--omit-history`.
    pub omit_history: bool,
}

/// Commit working container `name` to an image.
pub fn commit(store: &Store, name: &str, opts: &CommitOptions) -> Result<ImageRecord> {
    let records = Records::new(store);
    let c = records.find(name)?;
    let lock = records.container_lock(&c)?;
    // The new layer's blob is stored before the image that references it: no prune between.
    let hold = store.lock_shared()?;
    let mut state = c.state(store)?;
    state.timestamp = opts.timestamp;
    let snap = store.snapshot(&c.snapshot_key())?;
    let created_by = c
        .created_by
        .clone()
        .unwrap_or_else(|| "/bin/sh".to_string());
    state.commit_upper(store, &snap.upper, &created_by)?;
    // The new entry's comment: `config --comment`'s, else Buildah's `FROM <base image>`.
    let comment = c.comment.clone().or_else(|| {
        c.from_image_name
            .as_ref()
            .map(|name| format!("FROM {name}"))
    });
    if let Some(comment) = comment {
        let mut history = state.config.history().clone().unwrap_or_default();
        if let Some(last) = history.last_mut() {
            last.set_comment(Some(comment));
        }
        state.config.set_history(Some(history));
    }
    if opts.squash {
        squash(store, &mut state, Squash::All, &created_by)?;
    }
    let mut annotations: Vec<(String, String)> = vec![
        (
            "org.opencontainers.image.base.digest".into(),
            c.from_image_digest.clone().unwrap_or_default(),
        ),
        (
            "org.opencontainers.image.base.name".into(),
            c.from_image_name.clone().unwrap_or_default(),
        ),
    ];
    annotations.retain(|(k, _)| !c.annotations.contains_key(k));
    annotations.extend(c.annotations.clone());
    let (image, _) = state.write(
        store,
        &WriteOptions {
            names: &opts.names,
            format: opts.format,
            annotations: &annotations,
            omit_history: opts.omit_history,
        },
    )?;
    drop(hold);
    berth_image_store::events::emit(berth_image_store::events::Event::image(
        "commit",
        image.hex_id(),
        opts.names.first().map(String::as_str).unwrap_or(""),
    ));
    drop(lock);
    if opts.rm {
        super::mount::remove(store, &c)?;
    }
    Ok(image)
}
