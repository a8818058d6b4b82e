//! Request bodies that may be large (a build context, an image archive) read as a blocking
//! stream on the thread that consumes them, chunk by chunk as the client sends them: never
//! held whole in memory.

use axum::body::Body;
use futures_util::TryStreamExt as _;
use tokio_util::io::{StreamReader, SyncIoBridge};

/// A blocking reader of `body`. Made on the runtime (it keeps its handle); read it on a
/// blocking thread (`spawn_blocking`), never on the runtime's own.
pub fn blocking_reader(body: Body) -> impl std::io::Read + Send + 'static {
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    SyncIoBridge::new(StreamReader::new(stream))
}
