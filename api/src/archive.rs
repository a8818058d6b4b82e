//! `GET|HEAD|PUT /containers/{id}/archive?path=` (what `docker cp` uses): a tar stream of a
//! path in the container with Docker's `X-Docker-Container-Path-Stat` header (base64 JSON),
//! the header alone, or a tar stream extracted into a directory of the container. Each is
//! `berth cp`'s library work ([`berth_run::cp`]): in-root resolution below the container's
//! root, the in-root writer refusing any entry that would land outside it. Streamed both
//! ways through channels: the archive is never held in memory. Each copy runs on a thread
//! with a mount namespace of its own ([`berth_run::cp::on_private_thread`]), where a stopped
//! container's volumes are mounted for it.

use std::collections::HashMap;
use std::io::Write;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use berth_run::cp::{
    extract_options, extract_stream, on_private_thread, CopyError, CopyOptions, CpPath, Dest,
    Source,
};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::error::{ApiError, ApiResult};
use crate::hijack::ChannelReader;
use crate::state::{flag, AppState};
use crate::stream::{channel_body, FrameWriter, StreamId};

const STAT_HEADER: &str = "x-docker-container-path-stat";

/// A copy error as Docker answers it: 404 for a path that is not there, 400 for a refusal.
fn copy_error(id: &str, path: &str, e: CopyError) -> ApiError {
    match e {
        CopyError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("Could not find the file {path} in container {id}"),
            )
        }
        CopyError::Refused(m) => ApiError::bad_request(m),
        e => ApiError::internal(e.to_string()),
    }
}

/// Go's `os.FileMode` of a stat (what Docker's header carries).
fn go_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    m |= match mode & libc::S_IFMT {
        libc::S_IFDIR => 1 << 31,
        libc::S_IFLNK => 1 << 27,
        libc::S_IFIFO => 1 << 25,
        libc::S_IFSOCK => 1 << 24,
        libc::S_IFBLK => 1 << 26,
        libc::S_IFCHR => (1 << 26) | (1 << 21),
        _ => 0,
    };
    if mode & libc::S_ISUID != 0 {
        m |= 1 << 23;
    }
    if mode & libc::S_ISGID != 0 {
        m |= 1 << 22;
    }
    if mode & libc::S_ISVTX != 0 {
        m |= 1 << 20;
    }
    m
}

/// Docker's path stat, base64 JSON: name, size, mode, mtime, linkTarget.
fn stat_header(path: &str, st: &rustix::fs::Stat) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map_or("/".to_string(), |n| n.to_string_lossy().to_string());
    let mtime = chrono::DateTime::from_timestamp(st.st_mtime, st.st_mtime_nsec as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let v = json!({
        "name": name,
        "size": st.st_size,
        "mode": go_mode(st.st_mode),
        "mtime": mtime,
        "linkTarget": "",
    });
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

fn path_of(q: &HashMap<String, String>) -> ApiResult<String> {
    q.get("path")
        .filter(|p| !p.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::bad_request("path: a path in the container is required"))
}

/// Open `path` in container `id` on a copy thread and tell `ready` its stat header; then,
/// when `body` is given, write the path's tar stream to it.
fn read_side(
    st: AppState,
    id: String,
    path: String,
    follow: bool,
    ready: oneshot::Sender<ApiResult<String>>,
    body: Option<crate::stream::ChunkSender>,
) {
    on_private_thread(move || {
        let opened = (|| -> ApiResult<_> {
            let store = berth_image_store::Store::open(&st.root)?;
            let engine = berth_run::Engine::new(&store, &st.runroot)?;
            let c = engine.get(&id)?;
            let root = engine.copy_root(&c)?;
            let src = Source::in_root(&root.root, &CpPath::container(&path), follow)
                .map_err(|e| copy_error(&id, &path, e))?;
            let st = src.stat().map_err(|e| copy_error(&id, &path, e))?;
            Ok((root, src, stat_header(&path, &st)))
        })();
        let (root, src) = match opened {
            Ok((root, src, header)) => {
                let _ = ready.send(Ok(header));
                (root, src)
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        if let Some(tx) = body {
            let out = FrameWriter {
                tx,
                stream: StreamId::Stdout,
                raw: true,
            };
            let written = src
                .to_stream(std::io::BufWriter::with_capacity(256 * 1024, out))
                .and_then(|mut w| {
                    w.flush().map_err(|e| CopyError::Io {
                        path: path.clone().into(),
                        source: e,
                    })
                });
            if let Err(e) = written {
                tracing::debug!("archive of {path} in {id}: {e}");
            }
        }
        drop(root);
    });
}

fn stat_response(header: String, body: Body) -> ApiResult<Response> {
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        STAT_HEADER,
        HeaderValue::from_str(&header).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(resp)
}

/// `GET /containers/{id}/archive?path=`: the tar stream of `path` (a symlink as itself).
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let path = path_of(&q)?;
    let (tx, body) = channel_body();
    let (ready_tx, ready) = oneshot::channel();
    read_side(st, id, path, false, ready_tx, Some(tx));
    let header = ready
        .await
        .map_err(|_| ApiError::internal("the copy thread failed"))??;
    stat_response(header, Body::from_stream(body))
}

/// `HEAD /containers/{id}/archive?path=`: the stat header of `path` (symlinks followed, as
/// the docker CLI wants its destination), 404 when it is not there.
pub async fn head(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let path = path_of(&q)?;
    let (ready_tx, ready) = oneshot::channel();
    read_side(st, id, path, true, ready_tx, None);
    let header = ready
        .await
        .map_err(|_| ApiError::internal("the copy thread failed"))??;
    stat_response(header, Body::empty())
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=`: extract the body (a tar,
/// compressed or not) into directory `path` of the container; 200, or Docker's error body.
pub async fn put(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> ApiResult<StatusCode> {
    let path = path_of(&q)?;
    // Docker's defaults: a directory may replace a non-directory and the other way round;
    // files belong to the container's user unless `copyUIDGID` keeps the stream's ids.
    let opts = CopyOptions {
        overwrite: !flag(&q, "noOverwriteDirNonDir"),
        archive: !flag(&q, "copyUIDGID"),
        ..CopyOptions::default()
    };
    let (in_tx, in_rx) = mpsc::channel(16);
    let input = ChannelReader::new(in_rx);
    let (done_tx, done) = oneshot::channel();
    on_private_thread(move || {
        let result = (|| -> ApiResult<()> {
            let store = berth_image_store::Store::open(&st.root)?;
            let engine = berth_run::Engine::new(&store, &st.runroot)?;
            let c = engine.get(&id)?;
            let root = engine.copy_root(&c)?;
            let mut dest = Dest::in_root(&root.root, &CpPath::container(&path))
                .map_err(|e| copy_error(&id, &path, e))?;
            let xopts = extract_options(Some(root.user), &opts);
            extract_stream(input, &mut dest, &xopts).map_err(|e| copy_error(&id, &path, e))
        })();
        let _ = done_tx.send(result);
    });
    let mut body = req.into_body().into_data_stream();
    let mut done = std::pin::pin!(done);
    loop {
        tokio::select! {
            r = &mut done => {
                let r = r.map_err(|_| ApiError::internal("the copy thread failed"))?;
                if r.is_ok() {
                    drain(&mut body).await;
                }
                return r.map(|()| StatusCode::OK);
            }
            chunk = body.next() => match chunk {
                Some(Ok(b)) => {
                    // The extractor may stop reading (a refused entry): its answer comes next.
                    let _ = in_tx.send(b).await;
                }
                Some(Err(e)) => {
                    return Err(ApiError::bad_request(format!("reading the request body: {e}")));
                }
                None => break,
            },
        }
    }
    drop(in_tx);
    done.await
        .map_err(|_| ApiError::internal("the copy thread failed"))?
        .map(|()| StatusCode::OK)
}

/// The most of a request body read after the archive's end (its padding to a tar record):
/// past it the connection closes instead.
const DRAIN_LIMIT: usize = 1 << 20;

/// Read what the client still sends after the extractor found the archive's end (tar
/// pads a stream to its record size). A response sent with the body unread makes hyper
/// close the connection, and a client that sends its next request on it (the docker CLI's
/// `cp` does, a stat then this PUT) fails with a broken pipe.
async fn drain<S>(body: &mut S)
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin,
{
    let mut read = 0;
    while read < DRAIN_LIMIT {
        match body.next().await {
            Some(Ok(b)) => read += b.len(),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_go_file_modes() {
        assert_eq!(go_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
        assert_eq!(go_mode(libc::S_IFREG | 0o644), 0o644);
        assert_eq!(go_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
        assert_eq!(
            go_mode(libc::S_IFREG | libc::S_ISUID | 0o755),
            (1 << 23) | 0o755
        );
    }

    #[test]
    fn the_path_is_required() {
        let q = HashMap::new();
        assert_eq!(path_of(&q).unwrap_err().status, StatusCode::BAD_REQUEST);
        let q = HashMap::from([("path".to_string(), "/etc".to_string())]);
        assert_eq!(path_of(&q).unwrap(), "/etc");
    }
}
