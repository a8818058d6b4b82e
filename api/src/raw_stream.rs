//! Podman's client asks for a libpod exec's stream (`POST /libpod/exec/{id}/start`) and a
//! container's attach without `Upgrade` headers, then writes its standard input on the same
//! connection after the request and reads the raw socket after the response's headers, as
//! Podman's server hijacks such a connection unasked. hyper hands a connection over only for
//! an upgrade, so the first request on a connection is read here first: when it is one of
//! those two and asks for no upgrade, `Connection: Upgrade` and `Upgrade: tcp` are added to
//! its headers, and the handlers hijack it as they do a Docker client's (a 101 response,
//! which Podman's client accepts as informational). Every byte read is handed on to hyper.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The most of a request head read to decide: a longer head is passed on untouched.
const HEAD_LIMIT: usize = 16 * 1024;

/// `io` with the first request's head read, and changed when it is a libpod stream request
/// without an upgrade.
pub(crate) async fn mark_libpod_streams<S>(mut io: S) -> io::Result<Prefixed<S>>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break Some(end);
        }
        if buf.len() >= HEAD_LIMIT {
            break None;
        }
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            break None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if let Some(end) = end {
        if wants_raw_stream(&buf[..end]) {
            // Before the blank line that ends the head.
            buf.splice(
                end + 2..end + 2,
                b"Connection: Upgrade\r\nUpgrade: tcp\r\n".iter().copied(),
            );
        }
    }
    Ok(Prefixed {
        prefix: buf,
        at: 0,
        inner: io,
    })
}

/// Whether a request head (without its final blank line) is libpod's exec start or attach
/// and asks for no upgrade.
fn wants_raw_stream(head: &[u8]) -> bool {
    let Ok(head) = std::str::from_utf8(head) else {
        return false;
    };
    let mut lines = head.split("\r\n");
    let Some(request_line) = lines.next() else {
        return false;
    };
    let mut parts = request_line.split(' ');
    let (Some("POST"), Some(target)) = (parts.next(), parts.next()) else {
        return false;
    };
    let path = target.split('?').next().unwrap_or_default();
    let Some(rest) = libpod_path(path) else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let stream = matches!(
        segments.as_slice(),
        ["exec", _, "start"] | ["containers", _, "attach"]
    );
    stream
        && !lines.any(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("upgrade"))
        })
}

/// The path after `/libpod/` (with or without a `/vX.Y.Z` prefix).
fn libpod_path(path: &str) -> Option<&str> {
    let path = path.strip_prefix('/')?;
    let path = match path.split_once('/') {
        Some((v, rest))
            if v.starts_with('v') && v[1..].starts_with(|c: char| c.is_ascii_digit()) =>
        {
            rest
        }
        _ => path,
    };
    path.strip_prefix("libpod/")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A stream that reads `prefix` first, then `inner`; writes go to `inner`.
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = out.remaining().min(self.prefix.len() - self.at);
            let at = self.at;
            out.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_libpod_stream_requests_without_upgrade_are_marked() {
        let yes = |h: &str| wants_raw_stream(h.as_bytes());
        assert!(yes(
            "POST /v4.3.1/libpod/exec/abc/start HTTP/1.1\r\nHost: d"
        ));
        assert!(yes(
            "POST /libpod/containers/web/attach?stream=true HTTP/1.1\r\nHost: d"
        ));
        assert!(!yes(
            "POST /v4.3.1/libpod/exec/abc/start HTTP/1.1\r\nUpgrade: tcp\r\nConnection: Upgrade"
        ));
        assert!(!yes("POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: d"));
        assert!(!yes("GET /v4.3.1/libpod/exec/abc/json HTTP/1.1\r\nHost: d"));
        assert!(!yes("POST /v4.3.1/libpod/containers/web/start HTTP/1.1"));
    }

    #[tokio::test]
    async fn the_head_gets_the_upgrade_headers_and_every_byte_goes_on() {
        let request: &[u8] =
            b"POST /v4.3.1/libpod/exec/abc/start HTTP/1.1\r\nHost: d\r\n\r\n{\"Tty\":false}input";
        let mut s = mark_libpod_streams(request).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert_eq!(
            out,
            "POST /v4.3.1/libpod/exec/abc/start HTTP/1.1\r\nHost: d\r\n\
             Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n{\"Tty\":false}input"
        );
        let other: &[u8] = b"GET /_ping HTTP/1.1\r\n\r\n";
        let mut s = mark_libpod_streams(other).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, other);
    }
}
