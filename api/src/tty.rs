//! Terminals through the API: `attach` to a container with a terminal (`docker run -it`,
//! `docker attach`) and `POST /containers/{id}/resize`. The container runs under its
//! monitor, which serves its terminal on the attach socket (as for `berth run -it`); this
//! process is that socket's client ([`berth_run::attach::relay`]), the hijacked connection
//! in place of the user's terminal: raw bytes both ways, the detach keys watched in the input.
//! An attach before the start waits in [`Terminals`] until `start` starts the container
//! for it (the monitor keeping the first output, as `run -it`'s).

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use berth_run::attach::{connect, relay, AttachEnd};
use berth_run::{Container, State as CState};

use crate::error::{ApiError, ApiResult};
use crate::hijack::{hijack, plain, wants_upgrade, RAW};
use crate::sessions::PendingTty;
use crate::state::{blocking, flag, AppState};
use crate::stream::{FrameWriter, StreamId};

/// Docker's `detachKeys` (default `ctrl-p,ctrl-q`).
pub fn detach_keys(keys: Option<&str>) -> ApiResult<Vec<u8>> {
    let keys = keys.unwrap_or(berth_run::detach::DEFAULT_DETACH_KEYS);
    berth_run::detach::parse(keys).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `attach` to terminal container `c`: relay a running one now; else wait for its start.
pub async fn attach(
    st: &AppState,
    c: Container,
    q: &HashMap<String, String>,
    req: &mut Request,
) -> ApiResult<Response> {
    let keys = detach_keys(q.get("detachKeys").map(String::as_str))?;
    let with_input = flag(q, "stdin");
    let (resp, client) = if wants_upgrade(req) {
        hijack(req, RAW, with_input)
    } else {
        plain(RAW)
    };
    let pending = PendingTty { client, keys };
    if c.state == CState::Running {
        let id = c.id.clone();
        let socket = blocking(st, move |engine| Ok(engine.attach_socket(&c))).await?;
        relay_container(st.clone(), id, socket, pending);
    } else {
        st.tty.wait_for_start(c.id.clone(), pending);
    }
    Ok(resp)
}

/// Start terminal container `c` under its monitor for the waiting `client`, and relay.
pub async fn start_attached(st: &AppState, c: Container, client: PendingTty) -> ApiResult<()> {
    let (exe, args) = (st.berth_exe.clone(), st.global_args.clone());
    let id = c.id.clone();
    let socket = blocking(st, move |engine| {
        engine.start_attaching(&c, &exe, &args)?;
        Ok(engine.attach_socket(&c))
    })
    .await?;
    relay_container(st.clone(), id, socket, client);
    Ok(())
}

/// On a thread of its own: attach to the terminal at `socket` and relay it to the client
/// until the process exits, the keys are typed or the client goes.
fn relay_container(st: AppState, key: String, socket: PathBuf, client: PendingTty) {
    std::thread::spawn(move || {
        let _ = relay_terminal(&socket, client, |m| {
            let mut all = st.tty.attached();
            let a = all.entry(key.clone()).or_default();
            if let Some((h, w)) = a.size {
                let _ = berth_run::console::set_size(&m, h, w);
            }
            a.master = Some(m);
        });
        st.tty.attached().remove(&key);
    });
}

/// Attach to the terminal served at `socket` and relay it to `client` (blocking); the
/// terminal's master is handed to `on_master` (for resizes) first.
pub fn relay_terminal(
    socket: &std::path::Path,
    client: PendingTty,
    on_master: impl FnOnce(File),
) -> berth_run::Result<AttachEnd> {
    let PendingTty { client, keys } = client;
    let conn = connect(socket)?;
    if let Ok(m) = conn.master.try_clone() {
        on_master(m);
    }
    let out = FrameWriter {
        tx: client.output,
        stream: StreamId::Stdout,
        raw: true,
    };
    let end = match client.input {
        Some(input) => relay(conn, keys, true, input, out)?,
        None => relay(conn, Vec::new(), false, std::io::empty(), out)?,
    };
    Ok(end)
}

/// Docker's `h` and `w` query values.
pub fn size(q: &HashMap<String, String>) -> ApiResult<(u16, u16)> {
    let get = |k: &str| -> ApiResult<u16> {
        let v = q.get(k).map(String::as_str).unwrap_or("0");
        v.parse()
            .map_err(|_| ApiError::bad_request(format!("{k}: {v:?} is not a terminal size")))
    };
    Ok((get("h")?, get("w")?))
}

/// `POST /containers/{id}/resize?h=&w=`: resize the terminal this process is attached to
/// (or kept for it, as `docker run -it` resizes around the start); a container without a
/// terminal is left alone.
pub async fn resize(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let (h, w) = size(&q)?;
    let c = blocking(&st, move |engine| Ok(engine.get(&id)?)).await?;
    if !c.options.terminal {
        return Ok(StatusCode::OK);
    }
    let mut all = st.tty.attached();
    let a = all.entry(c.id).or_default();
    a.size = Some((h, w));
    if let Some(m) = &a.master {
        berth_run::console::set_size(m, h, w)?;
    }
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_keys_parse_or_are_bad_requests() {
        let q = HashMap::from([
            ("h".to_string(), "40".to_string()),
            ("w".to_string(), "120".to_string()),
        ]);
        assert_eq!(size(&q).unwrap(), (40, 120));
        let q = HashMap::from([("h".to_string(), "-1".to_string())]);
        assert_eq!(size(&q).unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(detach_keys(None).unwrap(), [16, 17]);
        assert_eq!(detach_keys(Some("ctrl-x")).unwrap(), [24]);
        assert!(detach_keys(Some("ctrl-1")).is_err());
    }
}
