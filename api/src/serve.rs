//! The server loop: a listener (a unix socket made here, an inherited one from systemd's
//! `LISTEN_FDS`, or TCP when asked), one hyper HTTP/1 connection per client with upgrades
//! (the hijacked `attach`), the API version prefix taken off the path before routing, and the
//! idle exit (`--time`).

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::memory;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, UnixListener};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::router::router;
use crate::state::{ServiceConfig, Shared};
use crate::version::{strip_version, VersionCheck};

/// Where the service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket made at this path (mode 0600; its directory 0700 when made here).
    Unix(PathBuf),
    /// `tcp://HOST:PORT`: no authentication, so only when asked for.
    Tcp(SocketAddr),
}

impl std::str::FromStr for Endpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Endpoint, String> {
        if let Some(path) = s.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(format!("{s}: a unix socket path must be absolute"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = s.strip_prefix("tcp://") {
            return addr
                .parse()
                .map(Endpoint::Tcp)
                .map_err(|e| format!("{s}: not HOST:PORT with an IP address: {e}"));
        }
        Err(format!(
            "{s}: unsupported URI (unix:///path/to/socket or tcp://127.0.0.1:PORT)"
        ))
    }
}

/// The socket systemd passed (`LISTEN_PID` is this process, `LISTEN_FDS` ≥ 1): fd 3.
pub fn inherited_listener() -> Option<OwnedFd> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds < 1 {
        return None;
    }
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    // SAFETY: systemd's protocol hands this process fd 3 (SD_LISTEN_FDS_START), open and
    // owned by nobody else in it; it is taken once, as the variables are removed above.
    Some(unsafe { OwnedFd::from_raw_fd(3) })
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// A connection being served: counted so the idle timer knows when none is.
struct Activity {
    active: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.active.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(
            self.last
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed(),
        )
    }
}

/// Bind `endpoint` (a unix socket: its parent made 0700 if missing, a stale socket replaced,
/// the socket 0600), or use `inherited`; serve until idle for `config.idle`.
pub fn serve(
    config: ServiceConfig,
    endpoint: &Endpoint,
    inherited: Option<OwnedFd>,
) -> std::io::Result<()> {
    // Before the runtime's threads start.
    memory::limit_arenas();
    let rt = berth_registry::client::runtime().map_err(|e| std::io::Error::other(e.to_string()))?;
    rt.block_on(async move {
        let made_here = inherited.is_none();
        let listener = match inherited {
            Some(fd) => inherited_socket(fd)?,
            None => bind(endpoint)?,
        };
        let result = run(listener, config).await;
        // The socket this process made goes with it (systemd keeps its own).
        if let (true, Endpoint::Unix(path)) = (made_here, endpoint) {
            let _ = std::fs::remove_file(path);
        }
        result
    })
}

fn inherited_socket(fd: OwnedFd) -> std::io::Result<Listener> {
    let std_listener = std::os::unix::net::UnixListener::from(fd);
    std_listener.set_nonblocking(true)?;
    Ok(Listener::Unix(UnixListener::from_std(std_listener)?))
}

fn bind(endpoint: &Endpoint) -> std::io::Result<Listener> {
    match endpoint {
        Endpoint::Unix(path) => {
            let ctx = |e: std::io::Error| {
                std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
            };
            if let Some(dir) = path.parent() {
                if !dir.exists() {
                    std::fs::create_dir_all(dir).map_err(ctx)?;
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                        .map_err(ctx)?;
                }
            }
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ctx(e)),
            }
            // Made 0600 from the start: no moment where another user could connect.
            // SAFETY: umask only changes this process's file creation mask; restored below.
            let old = unsafe { libc::umask(0o177) };
            let bound = UnixListener::bind(path);
            // SAFETY: as above.
            unsafe { libc::umask(old) };
            Ok(Listener::Unix(bound.map_err(ctx)?))
        }
        Endpoint::Tcp(addr) => {
            let std_listener = std::net::TcpListener::bind(addr)?;
            std_listener.set_nonblocking(true)?;
            Ok(Listener::Tcp(TcpListener::from_std(std_listener)?))
        }
    }
}

async fn run(listener: Listener, config: ServiceConfig) -> std::io::Result<()> {
    let idle = config.idle;
    let shared = Arc::new(Shared::new(config));
    let app = router(shared);
    let activity = Arc::new(Activity {
        active: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    let tick = idle
        .map(|d| (d / 4).clamp(Duration::from_millis(50), memory::IDLE_TICK))
        .unwrap_or(memory::IDLE_TICK);
    let mut trimmed = true;
    loop {
        let accepted = tokio::select! {
            a = accept(&listener) => a,
            _ = tokio::time::sleep(tick) => {
                let idle_for = activity.idle_for();
                if let (Some(limit), Some(for_)) = (idle, idle_for) {
                    if for_ >= limit {
                        return Ok(());
                    }
                }
                if !trimmed && idle_for.is_some_and(|d| d >= memory::TRIM_AFTER) {
                    memory::give_back_freed_memory();
                    trimmed = true;
                }
                continue;
            }
        };
        trimmed = false;
        let io = match accepted {
            Ok(io) => io,
            Err(e) => {
                tracing::warn!("accepting a connection: {e}");
                continue;
            }
        };
        activity.active.fetch_add(1, Ordering::SeqCst);
        let app = app.clone();
        let activity = activity.clone();
        tokio::spawn(async move {
            let io = match crate::raw_stream::mark_libpod_streams(io).await {
                Ok(io) => TokioIo::new(io),
                Err(e) => {
                    tracing::debug!("connection: {e}");
                    activity.touch();
                    activity.active.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
            };
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(app, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!("connection: {e}");
            }
            activity.touch();
            activity.active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

type Io = Box<dyn Stream>;

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

async fn accept(listener: &Listener) -> std::io::Result<Io> {
    Ok(match listener {
        Listener::Unix(l) => Box::new(l.accept().await?.0),
        Listener::Tcp(l) => Box::new(l.accept().await?.0),
    })
}

/// One request: the version prefix checked and taken off, then the router.
async fn handle(app: axum::Router, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    match strip_version(parts.uri.path()) {
        VersionCheck::Bad(message) => {
            return ApiError::new(StatusCode::BAD_REQUEST, message).into_response()
        }
        VersionCheck::Unversioned => {}
        VersionCheck::Versioned(rest) => {
            let pq = match parts.uri.query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest,
            };
            match pq.parse() {
                Ok(uri) => parts.uri = uri,
                Err(_) => return ApiError::bad_request("invalid request path").into_response(),
            }
        }
    }
    let req = Request::from_parts(parts, Body::new(body));
    match app.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            "unix:///run/berth/berth.sock".parse::<Endpoint>(),
            Ok(Endpoint::Unix("/run/berth/berth.sock".into()))
        );
        assert_eq!(
            "tcp://127.0.0.1:2375".parse::<Endpoint>(),
            Ok(Endpoint::Tcp("127.0.0.1:2375".parse().unwrap()))
        );
        assert!("unix://rel/sock".parse::<Endpoint>().is_err());
        assert!("http://x".parse::<Endpoint>().is_err());
        assert!("tcp://localhost:1".parse::<Endpoint>().is_err());
    }
}
