//! docker-archive in and out: `GET /images/{name}/get` and `GET /images/get?names=…`
//! (`berth save`'s library calls: `SaveItem::lookup`, `transports::save`; written to a
//! private file in the store, then streamed), and `POST /images/load` (`berth load`'s
//! `transports::load_stream`: the body spooled to disk as it comes, then loaded), answering
//! `{"stream": "Loaded image: …"}` lines.

use std::io::Read;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use berth_image_store::transports::{self, ArchiveFormat, SaveItem};
use bytes::Bytes;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stream::{channel_body, LineSender};
use crate::upload::blocking_reader;

/// Bytes per chunk of an archive sent.
const CHUNK: usize = 256 << 10;

/// Save `names` (each a name or an id) as one docker-archive, streamed to the client.
pub async fn save(st: AppState, names: Vec<String>) -> ApiResult<Response> {
    if names.is_empty() {
        return Err(ApiError::bad_request("no image named: give names=NAME"));
    }
    // Written before the response starts: a missing image is a 404, not a broken stream.
    let file = tokio::task::spawn_blocking(move || -> ApiResult<std::fs::File> {
        let store = berth_image_store::Store::open(&st.root)?;
        let items = names
            .iter()
            .map(|n| SaveItem::lookup(&store, n).map_err(|_| ApiError::no_such_image(n)))
            .collect::<ApiResult<Vec<_>>>()?;
        let tmp = tempfile::Builder::new()
            .prefix("save-")
            .tempdir_in(store.root())
            .map_err(|e| ApiError::internal(format!("creating a directory in the store: {e}")))?;
        let path = tmp.path().join("archive.tar");
        transports::save(&store, &items, ArchiveFormat::DockerArchive, &path)?;
        // Open, then the directory goes: the open file stays readable until sent.
        std::fs::File::open(&path)
            .map_err(|e| ApiError::internal(format!("opening {}: {e}", path.display())))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let (tx, stream) = channel_body();
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        let mut buf = vec![0u8; CHUNK];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /images/get?names=A&names=B`.
pub async fn save_many(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let names = url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .filter(|(k, v)| k == "names" && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .collect();
    save(st, names).await
}

/// `POST /images/load?quiet=`: a docker-archive (or oci-archive) body.
pub async fn load(State(st): State<AppState>, body: Body) -> ApiResult<Response> {
    let reader = blocking_reader(body);
    let (tx, stream) = channel_body();
    tokio::task::spawn_blocking(move || {
        let lines = LineSender(tx);
        let result = berth_image_store::Store::open(&st.root)
            .and_then(|store| transports::load_stream(&store, reader, "the request body"));
        match result {
            Ok(images) => {
                for image in &images {
                    if image.names.is_empty() {
                        let line = format!("Loaded image ID: {}\n", image.id);
                        lines.json(&json!({ "stream": line }));
                    }
                    for name in &image.names {
                        lines.json(&json!({ "stream": format!("Loaded image: {name}\n") }));
                    }
                }
            }
            Err(e) => {
                let message = e.to_string().replace('\n', " ");
                lines.json(&json!({ "errorDetail": { "message": message }, "error": message }));
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}
