//! berth-api: the REST API, a second front end beside the CLI. The Docker Engine API on a
//! unix socket (`berth system service`), served with axum on hyper, on the process's one
//! tokio runtime (`berth_registry::client::runtime`). No operation of its own: every handler
//! calls the library function the CLI calls, on a blocking thread (`spawn_blocking`: the
//! libraries block), over the same store and run root, so the CLI and any Docker client
//! see the same containers and images.
//!
//! The modules, bottom up (each uses only modules above it in this list, or none):
//! - [`error`]: [`ApiError`], Docker's `{"message": …}` body and status codes, mapped from
//!   the library errors by kind.
//! - [`version`]: the API versions served and the `/vX.Y` path prefix.
//! - [`stream`]: streamed bodies: JSON lines (pull progress) and the 8-byte multiplexed
//!   stdout/stderr frames (logs, attach).
//! - [`state`]: what handlers share (store root, run root, attach streams waiting for a
//!   start), [`state::blocking`], the JSON body reader with its size limit, query booleans.
//! - [`docker_shape`]: a container record as Docker lists and inspects it.
//! - [`attach`]: the hijacked `attach` stream and the start that feeds it.
//! - [`upload`]: large request bodies (build contexts, archives) read as a blocking stream.
//! - [`system`] (`_ping`, `version`, `info`), [`images`], [`containers`]: the handlers;
//!   [`build`] (`POST /build`), [`push`] (`images/{name}/push`), [`image_archive`]
//!   (`images/get`, `images/{name}/get`, `images/load`), [`prune`] (`images/prune`,
//!   `containers/prune`), [`search`] (`images/search`), [`system_df`] (`system/df`).
//! - [`router`]: the route table.
//! - [`serve`]: listeners (a unix socket 0600, systemd's `LISTEN_FDS`, TCP when asked), one
//!   HTTP/1 connection per client with upgrades, the version check, the idle exit.

pub mod attach;
pub mod build;
pub mod containers;
pub mod docker_shape;
pub mod error;
pub mod image_archive;
pub mod images;
pub mod prune;
pub mod push;
pub mod router;
pub mod search;
pub mod serve;
pub mod state;
pub mod stream;
pub mod system;
pub mod system_df;
pub mod upload;
pub mod version;

pub use error::{ApiError, ApiResult};
pub use serve::{inherited_listener, serve, Endpoint};
pub use state::ServiceConfig;
