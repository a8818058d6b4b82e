//! The HTTP upgrade hijack shared by `attach` with a terminal and `exec/{id}/start`: answer
//! 101, then pump the upgraded connection both ways through channels, so that the blocking
//! library calls on their own threads see a plain [`std::io::Read`] ([`ChannelReader`]: what
//! the client types) and [`crate::stream::FrameWriter`] (what goes back).

use std::io::Read;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::stream::ChunkSender;

pub const RAW: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";

/// Whether the client asked for the hijack (`Upgrade: tcp`).
pub fn wants_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"tcp"))
}

/// What the client sends, read on a blocking thread (never in async code): the end of the
/// input (the client closed its side, or went away) reads as end of file.
pub struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    left: Bytes,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<Bytes>) -> ChannelReader {
        ChannelReader {
            rx,
            left: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.left.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.left = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.left.len());
        buf[..n].copy_from_slice(&self.left[..n]);
        self.left = self.left.slice(n..);
        Ok(n)
    }
}

/// The two ends a hijacked stream gives the blocking side: the client's input (when asked
/// for) and the sender of what goes back. The connection ends once every clone of `output`
/// is dropped.
pub struct Hijacked {
    pub input: Option<ChannelReader>,
    pub output: ChunkSender,
}

/// The client's input as a process's standard input: a pipe a thread fills until the
/// client closes its side (the process then reads the end of its input).
pub fn stdin_from(mut input: ChannelReader) -> std::io::Result<std::process::Stdio> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    std::thread::spawn(move || {
        let mut w = std::fs::File::from(w);
        let _ = std::io::copy(&mut input, &mut w);
    });
    Ok(std::process::Stdio::from(r))
}

/// Answer 101 with `content_type` and, once upgraded, pump the connection: the client's
/// bytes to `input` (when `with_input`), the output channel's to the client.
pub fn hijack(
    req: &mut Request,
    content_type: &'static str,
    with_input: bool,
) -> (Response, Hijacked) {
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(64);
    let (in_tx, in_rx) = mpsc::channel::<Bytes>(64);
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!("upgrade: {e}");
                return;
            }
        };
        let (mut r, mut w) = tokio::io::split(TokioIo::new(upgraded));
        let reader = with_input.then(|| {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if in_tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            })
        });
        while let Some(chunk) = out_rx.recv().await {
            if w.write_all(&chunk).await.is_err() {
                // The client has gone: drain, so the process never blocks on its output.
                while out_rx.recv().await.is_some() {}
                break;
            }
        }
        let _ = w.shutdown().await;
        if let Some(r) = reader {
            r.abort();
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let input = with_input.then(|| ChannelReader::new(in_rx));
    (
        resp,
        Hijacked {
            input,
            output: out_tx,
        },
    )
}

/// Without the hijack: the output as a plain streamed body (no input), delimited by the
/// connection's close rather than chunked (an HTTP/1.0 response, which hyper sends so):
/// Podman's client asks for an exec's stream without `Upgrade` and reads the raw socket
/// after the headers, as Podman's server writes it, so a chunk header would read as a
/// frame. Any HTTP client reads such a body to its end.
pub fn plain(content_type: &'static str) -> (Response, Hijacked) {
    let (tx, body) = crate::stream::channel_body();
    let mut resp = Response::new(Body::from_stream(body));
    *resp.version_mut() = axum::http::Version::HTTP_10;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (
        resp,
        Hijacked {
            input: None,
            output: tx,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_reads_as_a_stream_to_its_end() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Bytes::from_static(b"abc")).unwrap();
        tx.try_send(Bytes::from_static(b"de")).unwrap();
        drop(tx);
        let mut r = ChannelReader::new(rx);
        let mut buf = [0u8; 2];
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"cde");
    }
}
