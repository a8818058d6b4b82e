//! Streamed response bodies: a channel from a blocking library call to the client, as JSON
//! lines ([`LineSender`]) or as Docker's stdout/stderr stream ([`FrameWriter`]: the 8-byte
//! multiplexed frames when the container has no terminal, raw bytes when it has one).

use std::io::Write;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

/// Chunks queued for a client before the sender waits for it to read.
const QUEUE: usize = 64;

pub type ChunkSender = mpsc::Sender<Bytes>;

/// A channel whose receiving end is a response body.
pub fn channel_body() -> (
    ChunkSender,
    impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) {
    let (tx, rx) = mpsc::channel::<Bytes>(QUEUE);
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
        );
    (tx, stream)
}

/// A response streaming `body` as JSON (lines).
pub fn json_response(
    body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> axum::response::Response {
    axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(body),
    ))
}

/// JSON lines to a streamed body, from a blocking thread.
pub struct LineSender(pub ChunkSender);

impl LineSender {
    /// Send one line; a client gone is not an error for the operation (it completes).
    pub fn json(&self, v: &serde_json::Value) {
        let mut line = v.to_string();
        line.push('\n');
        let _ = self.0.blocking_send(Bytes::from(line));
    }
}

/// Docker's stream ids in a multiplexed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamId {
    Stdout = 1,
    Stderr = 2,
}

/// One multiplexed frame: `[stream, 0, 0, 0, len as u32 big-endian]` then the bytes.
pub fn frame(stream: StreamId, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(8 + data.len());
    out.push(stream as u8);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    Bytes::from(out)
}

/// A writer sending what it is given to a client, framed unless `raw` (a terminal's single
/// stream). Fails once the client has gone, so a follower stops.
pub struct FrameWriter {
    pub tx: ChunkSender,
    pub stream: StreamId,
    pub raw: bool,
}

impl Write for FrameWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let chunk = if self.raw {
            Bytes::copy_from_slice(buf)
        } else {
            frame(self.stream, buf)
        };
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_docker() {
        let f = frame(StreamId::Stderr, b"hi\n");
        assert_eq!(&f[..], &[2, 0, 0, 0, 0, 0, 0, 3, b'h', b'i', b'\n']);
        let f = frame(StreamId::Stdout, &[0u8; 300]);
        assert_eq!(&f[..8], &[1, 0, 0, 0, 0, 0, 1, 44]);
    }
}
