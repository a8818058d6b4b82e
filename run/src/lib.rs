//! berth-run: OCI runtime spec generation, container records, runtime backends and the
//! per-container monitor.
//!
//! How a container runs: [`engine::Engine::create`] looks the image up in the store, prepares a
//! writable snapshot keyed by the new container id, mounts it to resolve `-u` inside the image
//! ([`user`]), generates the runtime spec ([`spec`]) and saves a record ([`container`]) in the
//! store's `berth.db`. Starting it ([`supervise`]) mounts the snapshot, writes the bundle
//! (`<runroot>/containers/<id>/config.json`), and drives an [`runtime::OciRuntime`]
//! (`create`, `start`), then waits for the container's process as a child subreaper, records
//! the exit code and releases the rootfs; detached containers get a monitor process that
//! outlives the CLI and writes `ctr.log` ([`logs`]).
//!
//! Principal types:
//! - [`spec::RunOptions`] → [`spec::generate`] → `oci_spec::runtime::Spec`.
//! - [`runtime::OciRuntime`], implemented by [`runtime::ExternalRuntime`] (runc, crun, a path).
//! - [`container::Container`] and [`container::Records`] (the `containers` table).
//! - [`bundle`]: a bundle's directory (0700) and files (`config.json`, exec specs, logs,
//!   locks: 0600 from creation); the run root itself is made 0700 by [`engine::Engine::new`].
//! - [`engine::Engine`]: create, start (foreground or detached), stop, kill, remove, list,
//!   wait, logs.
//! - [`reap`]: one reaping mechanism per process: each supervising thread waits for its own
//!   container's pid ([`reap::wait_child`]), a background thread reaps unclaimed orphans.
//! - [`ephemeral::run_ephemeral`]: a one-off container over a snapshot its caller owns (the
//!   build's `RUN` steps), with no record.
//! - [`exec::ExecRequest`]: `exec` in a running container.
//! - [`rootless`]: berth's user namespace for a plain user (subordinate id ranges through
//!   newuidmap/newgidmap, a pause process that keeps it, joined by every container command),
//!   `berth unshare`, and the rootless spec (no cgroups).
//! - [`netns`]: a container's own network namespace (`--network none`), made with `lo` up
//!   before the runtime joins it.
//! - [`rootfs`]: refuses a rootfs whose `/dev`, `/proc` or `/sys` leads elsewhere, and
//!   resolves other mount destinations in-root (`berth_layers::inroot`).
//! - [`seccomp`]: the default syscall filter (a deny list lifted by capabilities).
//! - [`commit`]: a container's changes → a new image; `export` → a tar stream.
//! - [`cp`]: `cp` between a container's root (resolved in-root through pathrs) and the host,
//!   a tar stream or another container: [`cp::Source`] → tar → [`cp::Dest`].
//! - [`exploded`]: `--rootfs DIR[:O]`, a directory as the container's root (or an overlay's
//!   lower layer).
//! - [`top`]: a running container's processes, from `/proc` by PID namespace.
//! - [`stats`]: a running container's CPU, memory, PIDs and I/O, from its cgroup (v1 or v2).
//! - [`image_removal`]: removing an image with the containers made from it (`rmi -f`).
//! - [`image_volumes`]: the image's `VOLUME`s → anonymous volumes filled from the image
//!   (`--image-volume bind|tmpfs|ignore`).
//! - [`inspect`]: which object a name is (container, image, volume) and a container's
//!   inspect record, in Podman's shape.
//! - [`volumes::Volumes`]: named and anonymous volumes (`-v NAME:/path`, `-v /path`).
//! - [`workdir`]: the working directory made in-root before the runtime starts.
//! - [`console`]: `-t` pseudo-terminals (console socket, raw mode, resize).
//! - [`error::RunError`]: names the container, path or runtime concerned, and knows its
//!   Podman exit code (125, 126, 127).

pub mod bundle;
pub mod caps;
pub mod commit;
pub mod console;
pub mod container;
pub mod cp;
pub mod engine;
pub mod ephemeral;
pub mod error;
pub mod exec;
pub mod exploded;
pub mod image_removal;
pub mod image_volumes;
pub mod inspect;
pub mod logfile;
pub mod logs;
pub mod names;
pub mod netns;
pub mod reap;
pub mod rootfs;
pub mod rootless;
pub mod runtime;
pub mod seccomp;
pub mod signals;
pub mod spec;
pub mod stats;
pub mod supervise;
pub mod top;
pub mod user;
pub mod volumes;
pub mod workdir;

pub use container::{Container, State};
pub use engine::{default_runroot, CreateRequest, Engine};
pub use error::{Result, RunError};
pub use spec::RunOptions;
