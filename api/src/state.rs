//! What every handler shares: [`Shared`] (the store root, run root, and the attach streams
//! waiting for their container's start), [`blocking`] (a library call on a blocking thread,
//! over a store opened for it), [`JsonBody`] (a body read up to [`BODY_LIMIT`], JSON errors
//! as 400) and Docker's query booleans.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use berth_run::Engine;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::stream::ChunkSender;

/// The largest request body read (a container's create request is a few KiB).
pub const BODY_LIMIT: usize = 1 << 20;

/// What `berth system service` hands the server.
pub struct ServiceConfig {
    /// The store root (`--root`).
    pub root: PathBuf,
    /// The run root (`--runroot`).
    pub runroot: PathBuf,
    /// The berth binary, re-executed as each detached container's monitor.
    pub berth_exe: PathBuf,
    /// The global flags that monitor needs (`--root`, `--runroot`).
    pub global_args: Vec<OsString>,
    /// Exit after this long with no client connected (`None`: never).
    pub idle: Option<Duration>,
}

/// What the handlers share. No state a CLI process could not see: the records are in the
/// store; only connections waiting for a start live here.
pub struct Shared {
    pub root: PathBuf,
    pub runroot: PathBuf,
    pub berth_exe: PathBuf,
    pub global_args: Vec<OsString>,
    /// Attach streams by container id, waiting for `start` (which then supervises the
    /// container in this process with its output going to them).
    pub attached: Mutex<HashMap<String, AttachSink>>,
    /// Exit codes of the containers this process supervised, for `wait?condition=removed`.
    pub exits: Exits,
    /// Exec instances (for the exec handlers).
    pub execs: crate::sessions::Execs,
    /// Terminal attach streams and attached terminals (for the terminal handlers).
    pub tty: crate::sessions::Terminals,
}

impl Shared {
    pub fn new(config: ServiceConfig) -> Shared {
        Shared {
            root: config.root,
            runroot: config.runroot,
            berth_exe: config.berth_exe,
            global_args: config.global_args,
            attached: Mutex::new(HashMap::new()),
            exits: Exits::default(),
            execs: Default::default(),
            tty: Default::default(),
        }
    }
}

pub type AppState = Arc<Shared>;

/// A client's attach stream, waiting for its container's start.
pub struct AttachSink {
    pub tx: ChunkSender,
    /// The client's input, for the container's standard input (`-i`).
    pub input: Option<crate::hijack::ChannelReader>,
    pub stdout: bool,
    pub stderr: bool,
}

/// What this process knows of a container it supervises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervised {
    Running,
    Exited(Option<i32>),
}

/// How many exit codes of finished containers [`Exits`] keeps (a `wait` asks right after the
/// exit; older ones are left to the event log, as for containers another process ran).
const KEEP_EXITS: usize = 256;

/// What this process knows of the containers it supervises, by id: every running one, and
/// the exits of the last [`KEEP_EXITS`] that ended (without the bound, one entry per
/// `docker run` for the life of the service).
#[derive(Default)]
pub struct Exits {
    inner: Mutex<(HashMap<String, Supervised>, VecDeque<String>)>,
}

impl Exits {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, Supervised>, VecDeque<String>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn running(&self, id: &str) {
        self.lock().0.insert(id.to_string(), Supervised::Running);
    }

    pub fn exited(&self, id: &str, code: Option<i32>) {
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        map.insert(id.to_string(), Supervised::Exited(code));
        order.retain(|x| x != id);
        order.push_back(id.to_string());
        while order.len() > KEEP_EXITS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Supervised> {
        self.lock().0.get(id).copied()
    }
}

/// Run `f` with an engine over the store on a blocking thread (every library call blocks).
pub async fn blocking<T, F>(st: &AppState, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine<'_>) -> ApiResult<T> + Send + 'static,
{
    let st = st.clone();
    tokio::task::spawn_blocking(move || {
        let store = berth_image_store::Store::open(&st.root)?;
        let engine = Engine::new(&store, &st.runroot)?;
        f(&engine)
    })
    .await
    .map_err(|e| ApiError::internal(format!("handler failed: {e}")))?
}

/// Run `f` with an engine over the store on a blocking thread, without waiting for it: the
/// producer of a streamed body. A store that cannot be opened ends it (logged).
pub fn spawn_with_engine<F>(st: &AppState, f: F)
where
    F: FnOnce(&Engine<'_>) + Send + 'static,
{
    let st = st.clone();
    tokio::task::spawn_blocking(move || {
        let opened = berth_image_store::Store::open(&st.root)
            .map_err(ApiError::from)
            .and_then(|store| {
                let engine = Engine::new(&store, &st.runroot)?;
                f(&engine);
                Ok(())
            });
        if let Err(e) = opened {
            tracing::debug!("opening the store: {e}");
        }
    });
}

/// A JSON request body: at most [`BODY_LIMIT`] bytes (else 413), valid JSON of `T` (else
/// 400); unknown fields are ignored, as Docker does.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> ApiResult<JsonBody<T>> {
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| {
                if std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("request body is larger than {BODY_LIMIT} bytes"),
                    )
                } else {
                    ApiError::bad_request(format!("reading the request body: {e}"))
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

/// Docker's query booleans: `1`, `true`, `True` (absent, `0`, `false`: false).
pub fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "True" | "TRUE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_keep_the_running_and_the_last_finished() {
        let e = Exits::default();
        e.running("r");
        for i in 0..KEEP_EXITS + 10 {
            e.running(&i.to_string());
            e.exited(&i.to_string(), Some(i as i32));
        }
        assert_eq!(e.get("r"), Some(Supervised::Running));
        assert_eq!(e.get("0"), None);
        assert_eq!(e.get("9"), None);
        assert_eq!(e.get("10"), Some(Supervised::Exited(Some(10))));
        let last = (KEEP_EXITS + 9).to_string();
        assert_eq!(
            e.get(&last),
            Some(Supervised::Exited(Some(last.parse().unwrap())))
        );
        assert_eq!(e.lock().0.len(), KEEP_EXITS + 1);
    }
}
