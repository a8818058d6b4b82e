//! `POST /images/{name}/push?tag=T` (without a tag: every tag of the repository, as
//! `docker push --all-tags`): `berth push`'s library call
//! (`berth_registry::push::push`), with the credentials of `X-Registry-Auth` (else berth's
//! auth files, as the CLI), streaming Docker's progress lines: `Preparing`, `Pushing` with
//! `progressDetail`, `Pushed` per blob, then `TAG: digest: D size: N` and the
//! `{"aux": {"Tag", "Digest", "Size"}}` the docker CLI reads; a failure as `errorDetail`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use berth_layers::reference::Reference;
use berth_layers::Digest;
use berth_registry::progress::{Observer, TransferObserver};
use berth_registry::push::{push, push_destination, PushOptions};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stream::{channel_body, LineSender};

/// Bytes between two `Pushing` lines of one blob.
const PROGRESS_STEP: u64 = 1 << 20;

/// Docker's short blob id in progress lines.
fn short(d: &Digest) -> String {
    let hex = d.to_string();
    let hex = hex.rsplit(':').next().unwrap_or("").to_string();
    hex[..hex.len().min(12)].to_string()
}

/// Per-blob progress as Docker's JSON lines, at most one `Pushing` line per
/// [`PROGRESS_STEP`] bytes.
struct DockerProgress {
    lines: LineSender,
    /// Per blob: (bytes done, total, bytes done at the last line).
    blobs: Mutex<HashMap<String, (u64, u64, u64)>>,
}

impl DockerProgress {
    fn line(&self, id: &str, status: &str, current: u64, total: u64) {
        let detail = if total > 0 {
            json!({ "current": current, "total": total })
        } else {
            json!({})
        };
        self.lines
            .json(&json!({ "status": status, "progressDetail": detail, "id": id }));
    }
}

impl TransferObserver for DockerProgress {
    fn start(&self, digest: &Digest, size: u64, resumed: u64) {
        let id = short(digest);
        self.blobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), (resumed, size, resumed));
        self.line(&id, "Pushing", resumed, size);
    }

    fn advance(&self, digest: &Digest, bytes: u64) {
        let id = short(digest);
        let due = {
            let mut blobs = self.blobs.lock().unwrap_or_else(|p| p.into_inner());
            let Some(entry) = blobs.get_mut(&id) else {
                return;
            };
            entry.0 += bytes;
            (entry.0 - entry.2 >= PROGRESS_STEP).then(|| {
                entry.2 = entry.0;
                (entry.0, entry.1)
            })
        };
        if let Some((current, total)) = due {
            self.line(&id, "Pushing", current, total);
        }
    }

    fn finish(&self, digest: &Digest, ok: bool) {
        let id = short(digest);
        self.blobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if ok {
            self.line(&id, "Pushed", 0, 0);
        }
    }
}

/// `POST /images/{name}/push` (`name` without the tag; `tag` in the query), reaching the
/// registry as `connect` says (the caller read `X-Registry-Auth`).
pub async fn push_image(
    st: AppState,
    name: String,
    q: HashMap<String, String>,
    connect: berth_registry::connect::ConnectOptions,
) -> ApiResult<Response> {
    let tag = q.get("tag").filter(|t| !t.is_empty()).cloned();
    // Refused before the stream begins: an image that is not there is a 404.
    let images = {
        let st = st.clone();
        tokio::task::spawn_blocking(move || targets(&st, &name, tag.as_deref()))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??
    };
    let (tx, stream) = channel_body();
    tokio::task::spawn_blocking(move || {
        let lines = LineSender(tx.clone());
        let progress = Arc::new(DockerProgress {
            lines: LineSender(tx),
            blobs: Mutex::new(HashMap::new()),
        });
        let opts = PushOptions {
            connect,
            observer: Observer::new(progress),
            ..Default::default()
        };
        let store = match berth_image_store::Store::open(&st.root) {
            Ok(store) => store,
            Err(e) => return error_line(&lines, &e.to_string()),
        };
        for (image, dest) in &images {
            lines.json(&json!({
                "status": format!("The push refers to repository [{}]", dest.name())
            }));
            let print = |line: &str| lines.json(&json!({ "status": line }));
            let digest = match push(&store, image, dest, &opts, &print) {
                Ok(d) => d,
                Err(e) => return error_line(&lines, &format!("pushing {image}: {e}")),
            };
            let size = std::fs::metadata(store.content().blob_path(&digest)).map_or(0, |m| m.len());
            let tag = dest.tag().unwrap_or("latest").to_string();
            lines.json(&json!({ "status": format!("{tag}: digest: {digest} size: {size}") }));
            lines.json(&json!({
                "progressDetail": {},
                "aux": { "Tag": tag, "Digest": digest.to_string(), "Size": size }
            }));
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn error_line(lines: &LineSender, message: &str) {
    let message = message.replace('\n', " ");
    lines.json(&json!({ "errorDetail": { "message": message }, "error": message }));
}

/// What to push, each with its destination: `name:tag`, or without a tag (`push
/// --all-tags`) every tag of `name`'s repository in the store.
fn targets(st: &AppState, name: &str, tag: Option<&str>) -> ApiResult<Vec<(String, Reference)>> {
    let store = berth_image_store::Store::open(&st.root)?;
    let one = |image: String| -> ApiResult<(String, Reference)> {
        store
            .lookup_image(&image)
            .map_err(|_| ApiError::no_such_image(&image))?;
        let dest =
            push_destination(&image, None).map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok((image, dest))
    };
    let repository = push_destination(name, None)
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .name();
    match tag {
        Some(t) => Ok(vec![one(format!("{name}:{t}"))?]),
        // A name with a digest or a tag of its own is one image.
        None if name.contains('@') || name.rsplit('/').next().is_some_and(|l| l.contains(':')) => {
            Ok(vec![one(name.to_string())?])
        }
        None => {
            let mut out = Vec::new();
            for img in store.list_images()? {
                for n in &img.names {
                    if n.name() == repository && n.tag().is_some() {
                        out.push(one(n.to_string())?);
                    }
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            if out.is_empty() {
                return Err(ApiError::no_such_image(name));
            }
            Ok(out)
        }
    }
}
