//! berth-api: the REST API, a second front end beside the CLI. The Docker Engine API (and
//! Podman's libpod API) on a unix socket (`berth system service`), served with axum on
//! hyper, on the process's one tokio runtime (`berth_registry::client::runtime`). No
//! operation of its own: every handler calls the library function the CLI calls, on a
//! blocking thread (`spawn_blocking`: the libraries block), over the same store and run
//! root, so the CLI and any Docker or Podman client see the same containers and images.
//!
//! The modules, bottom up (each uses only modules above it in this list, or none):
//! - [`error`]: [`ApiError`], Docker's `{"message": …}` body and status codes, mapped from
//!   the library errors by kind.
//! - [`version`]: the API versions served and the `/vX.Y` path prefix.
//! - [`stream`]: streamed bodies: JSON lines (pull progress) and the 8-byte multiplexed
//!   stdout/stderr frames (logs, attach).
//! - [`hijack`]: the HTTP upgrade, the connection pumped through channels for a blocking
//!   reader and writer.
//! - [`upload`]: large request bodies (build contexts, archives) read as a blocking stream.
//! - [`sessions`]: exec instances and terminal attach streams kept between requests.
//! - [`state`]: what handlers share (store root, run root, attach streams waiting for a
//!   start, the [`sessions`]), [`state::blocking`], the JSON body reader with its size
//!   limit, query booleans.
//! - [`filters`]: Docker's `filters` query parameter. [`network_names`]: berth's default
//!   network as Docker's `bridge`, both ways, and the user's network catalog.
//! - [`create_network`]: the networking fields of a container create body (`NetworkMode`,
//!   `PortBindings`, `Dns`…, `EndpointsConfig`) → the CLI's network flags and run options.
//! - [`create_health`]: a create body's health check (Docker's `Config.Healthcheck`,
//!   libpod's `healthconfig`) → the run options of `--health-*` and `--no-healthcheck`.
//! - [`container_network`]: a container's `NetworkSettings`, `NetworkMode` and `Ports` in
//!   Docker's shapes.
//! - [`docker_shape`]: a container record as Docker lists and inspects it.
//! - [`tty`]: a terminal container's attach (the monitor's attach socket relayed raw, the
//!   detach keys) and `resize`.
//! - [`attach`]: the hijacked `attach` stream and the start that feeds it (a terminal one
//!   is [`tty`]'s).
//! - [`exec`]: exec create, start (piped frames, or a terminal through [`tty`]), json,
//!   resize.
//! - [`system`] (`_ping`, `version`, `info`), [`images`], [`containers`]: the handlers.
//! - [`archive`] (`cp`: GET, HEAD, PUT), [`top_stats`], [`restart_export`]: handlers (the
//!   last with [`containers`]' stop timeout); [`changes`] (`diff`'s list).
//! - [`networks`] (list, inspect, create, remove, prune; berth-run's `network_admin` as the
//!   CLI's), [`volumes`] (list, create, inspect, remove, prune): handlers.
//! - [`events`] (`/events`, the one event log as Docker's messages), [`pause_rename`]
//!   (`pause`, `unpause`, `rename`): handlers.
//! - [`libpod`]: Podman's libpod API (`/libpod/…`) for `podman --remote`: its own shapes
//!   over the same library calls, Docker's handlers where libpod's are the same (`start`,
//!   `attach`), libpod's error body; its containers, images, pods and system endpoints.
//! - [`build`] (`POST /build`), [`push`] (`images/{name}/push`), [`image_archive`]
//!   (`images/get`, `images/{name}/get`, `images/load`), [`prune`] (`images/prune`,
//!   `containers/prune`), [`search`] (`images/search`), [`system_df`] (`system/df`): handlers.
//! - [`router`]: the route table.
//! - [`raw_stream`]: Podman's exec and attach requests that expect the connection hijacked
//!   unasked, marked as upgrades before hyper reads them.
//! - [`memory`]: the service's heap (two glibc arenas, freed memory given back when idle).
//! - [`serve`]: listeners (a unix socket 0600, systemd's `LISTEN_FDS`, TCP when asked), one
//!   HTTP/1 connection per client with upgrades, the version check, the idle exit.

pub mod archive;
pub mod attach;
pub mod build;
pub mod changes;
pub mod container_network;
pub mod containers;
pub mod create_health;
pub mod create_network;
pub mod docker_shape;
pub mod error;
pub mod events;
pub mod exec;
pub mod filters;
pub mod hijack;
pub mod image_archive;
pub mod images;
pub mod libpod;
mod memory;
pub mod network_names;
pub mod networks;
pub mod pause_rename;
pub mod prune;
pub mod push;
mod raw_stream;
pub mod restart_export;
pub mod router;
pub mod search;
pub mod serve;
pub mod sessions;
pub mod state;
pub mod stream;
pub mod system;
pub mod system_df;
pub mod top_stats;
pub mod tty;
pub mod upload;
pub mod version;
pub mod volumes;

pub use error::{ApiError, ApiResult};
pub use serve::{inherited_listener, serve, Endpoint};
pub use state::ServiceConfig;
