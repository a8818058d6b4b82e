//! `from`: a working container over an image (from the store, or pulled per `--pull` through
//! the registry crate and its trust gate) or over nothing (`scratch`), named as Buildah names
//! it (`<image>-working-container`, `-1`, `-2`… when taken; `--name` must be free).

use berth_image_store::{ImageRecord, Store};
use berth_registry::pull::PullOptions;
use berth_registry::pull_policy::{decide, Decision, PullPolicy};

use super::record::{Records, WorkingContainer};
use crate::error::{BuildError, Result};
use crate::image::ImageState;

/// `from`'s options.
#[derive(Debug, Clone, Default)]
pub struct FromOptions {
    /// `--name`.
    pub name: Option<String>,
    /// `--pull`.
    pub pull: PullPolicy,
    /// How to reach the registry when the image is pulled.
    pub pull_options: PullOptions,
}

/// Make a working container from `image` (`scratch`: none). `pulling` is told the image
/// before a pull starts.
pub fn from(
    store: &Store,
    image: &str,
    opts: &FromOptions,
    pulling: &mut dyn FnMut(&str),
) -> Result<WorkingContainer> {
    let base = if image == "scratch" {
        None
    } else {
        Some(resolve(store, image, opts, pulling)?)
    };
    let state = match &base {
        Some(img) => ImageState::from_image(store, img)?,
        None => {
            // As Buildah's `from scratch`: no environment at all (a build's FROM scratch
            // has the default PATH).
            let mut s = ImageState::scratch()?;
            let mut inner = s.inner();
            inner.set_env(None);
            s.config.set_config(Some(inner));
            s
        }
    };
    let records = Records::new(store);
    let _lock = records.lock()?;
    let name = match &opts.name {
        Some(name) => {
            if let Some(holder) = records.holder(name)? {
                return Err(BuildError::Invalid(format!(
                    "creating container: the container name {name:?} is already in use by {}. \
                     You have to remove that container to be able to reuse that name",
                    holder.id
                )));
            }
            name.clone()
        }
        None => records.free_name(&default_name(image, base.as_ref()))?,
    };
    let mut c = WorkingContainer {
        id: berth_run::names::new_id()?,
        name,
        from_image: image.to_string(),
        from_image_id: base.as_ref().map(|b| b.id.to_string()),
        from_image_digest: base.as_ref().map(|b| b.manifest_digest.to_string()),
        from_image_name: base
            .as_ref()
            .and_then(|b| b.names.first())
            .map(|n| n.to_string()),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        config: serde_json::Value::Null,
        annotations: Default::default(),
        created_by: None,
        comment: None,
    };
    c.set_config(&state)?;
    store.prepare_snapshot(&c.snapshot_key(), base.as_ref())?;
    if let Err(e) = records.save(&c) {
        let _ = store.remove_snapshot(&c.snapshot_key());
        return Err(e);
    }
    Ok(c)
}

/// The image `from` starts from, as `--pull` says.
fn resolve(
    store: &Store,
    image: &str,
    opts: &FromOptions,
    pulling: &mut dyn FnMut(&str),
) -> Result<ImageRecord> {
    Ok(match decide(store, image, opts.pull)? {
        Decision::Local(img) => *img,
        Decision::MissingNeverPull => {
            return Err(BuildError::Invalid(format!(
                "{image}: image not known (not in the local store and --pull=never)"
            )))
        }
        Decision::Pull => {
            pulling(image);
            let reference = image.strip_prefix("docker://").unwrap_or(image);
            berth_registry::pull::pull(store, reference, &opts.pull_options, &|_| {})?
        }
    })
}

/// Buildah's default name: the image's last path component without tag or digest, then
/// `-working-container` (`working-container` alone for scratch).
fn default_name(image: &str, base: Option<&ImageRecord>) -> String {
    let Some(base) = base else {
        return "working-container".to_string();
    };
    let full = base
        .names
        .first()
        .map(|n| n.to_string())
        .unwrap_or_else(|| image.to_string());
    let shown = if image.starts_with("sha256:") || base.id.digest().starts_with(image) {
        full
    } else {
        image.trim_start_matches("docker://").to_string()
    };
    name_from(&shown)
}

/// `<last path component, no tag or digest>-working-container`.
fn name_from(shown: &str) -> String {
    let no_digest = shown.split('@').next().unwrap_or_default();
    let last = no_digest.rsplit('/').next().unwrap_or_default();
    let repo = last.split(':').next().unwrap_or_default();
    if repo.is_empty() || repo.len() == 64 {
        "working-container".to_string()
    } else {
        format!("{repo}-working-container")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_as_buildah() {
        assert_eq!(default_name("scratch", None), "working-container");
        for (shown, name) in [
            ("busybox", "busybox-working-container"),
            (
                "docker.io/library/busybox:1.36",
                "busybox-working-container",
            ),
            ("127.0.0.1:5000/a/b/app:v1", "app-working-container"),
            ("localhost/x@sha256:0123", "x-working-container"),
            ("", "working-container"),
        ] {
            assert_eq!(name_from(shown), name, "{shown}");
        }
    }
}
