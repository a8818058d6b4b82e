//! berth-run: OCI runtime spec generation, container records, runtime backends and the
//! per-container monitor.
//!
//! How a container runs: a front end builds [`options::RunOptions`] from the user's flags
//! (the parsers of Podman's syntax are in [`options`]) and calls
//! [`engine::Engine::create`], which looks the image up in the store, prepares a writable
//! snapshot keyed by the new container id, mounts it to resolve `-u` inside the image
//! ([`user`]), generates the runtime spec ([`spec`]) and saves a record ([`container`]) in the
//! store's `berth.db`. Starting it ([`engine::start`], [`engine::supervise`]) mounts the
//! snapshot, writes the bundle (`<runroot>/containers/<id>/config.json`), and drives an
//! [`runtime::OciRuntime`] (`create`, `start`), then waits for the container's process as a
//! child subreaper ([`reap`]), records the exit code and releases the rootfs; detached
//! containers get a monitor process that outlives the CLI and writes `ctr.log` ([`logs`]).
//!
//! The modules, bottom up (each uses only modules above it in this list, or none):
//! - [`error::RunError`]: names the container, path or runtime concerned, and knows its
//!   Podman exit code (125, 126, 127). An OCI runtime's failure arrives as text in its log;
//!   `runtime/failure.rs` turns it into a kind there, once.
//! - [`process`]: pid liveness (`alive`, `proc_start_time`: a reused pid is never taken for
//!   the process it replaced) and executables found on the host (`find_binary`).
//! - [`names`]: container ids and names (`check_name`, which volume names follow too).
//! - [`restart_policy`]: `--restart` ([`restart_policy::RestartPolicy`], Podman's parse
//!   and words) and the decision a monitor makes at an exit; [`health`]: health checks'
//!   configuration (`--health-*`, the image's `HEALTHCHECK`), `--health-on-failure`, and the
//!   results a container keeps (`.State.Health`, libpod's rules).
//! - [`options`]: [`options::RunOptions`] (what the user asked for beyond the image config,
//!   stored as JSON in each record), `--network`, `--image-volume`, `--security-opt`,
//!   sizes, `-e`/`--env-file`, `KEY=VALUE` flags, `--entrypoint` and `-v`
//!   ([`options::VolumeSpec`]: host path, named or anonymous volume, typed options; kept in
//!   Podman's string syntax in the record), parsed once.
//! - [`published`]: a container's ports and networks (berth-network's mappings and
//!   attachment) as `port`, `ps` and `inspect` show them.
//! - [`signals`] (names and numbers, and a supervisor's signal forwarding),
//!   [`bundle`] (a bundle's directory, 0700, and files, 0600 from creation; the run root itself
//!   is made 0700 by [`engine::Engine::new`]), [`console`] (`-t` pseudo-terminals: console
//!   socket, raw mode, resize), [`detach`] (`--detach-keys`: Podman's syntax, the matcher),
//!   [`attach`] (a running terminal session: to the user's terminal, the log, or a monitor's
//!   attach socket and the client that attaches to it).
//! - [`cgroupfs`]: the host's cgroup file systems (v1 hierarchies, v2) from mountinfo;
//!   [`freezer`]: a container's cgroup freezer (v1 `freezer.state`, v2 `cgroup.freeze`), the
//!   record of whether it is paused; [`oom`]: the memory cgroup's OOM kills between a start
//!   and an exit (`OOMKilled`, an `oom` marker in the bundle directory).
//! - [`rootless`]: berth's user namespace for a plain user (subordinate id ranges through
//!   newuidmap/newgidmap, a pause process that keeps it, joined by every container command),
//!   `berth unshare`.
//! - [`spec`]: image config + options → `oci_spec::runtime::Spec` ([`spec::generate`]); its
//!   mounts in [`spec::mounts`], the rootless form (no cgroups) in [`spec::rootless`], the
//!   container's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` (written into its
//!   bundle at each start) in [`spec::etc_files`], its view of `/sys/fs/cgroup` in
//!   [`spec::cgroup`], rlimits, sysctls, devices and groups in [`spec::limits`], a user
//!   namespace of its own (`--userns keep-id`, `--uidmap`) in [`spec::userns`];
//!   capabilities from [`caps`], the default syscall filter from [`seccomp`], users from
//!   [`user`].
//! - [`container::Container`] and [`container::Records`] (the `containers` table): a record
//!   holds typed values (the image id a `Digest`, the spec an `oci_spec::runtime::Spec`, the
//!   options a `RunOptions`), stored as the text columns they always were;
//!   [`volumes::Volumes`]: named and anonymous volumes (`-v NAME:/path`, `-v /path`);
//!   [`volume_filter`]: which volumes a list shows (`volume ls --filter`, the API's);
//!   [`volume_archive`]: a volume's contents as a tar stream, out and in.
//! - [`pod`]: pods (issue 17): the record ([`pod::Pod`], the `pods` table), what creating
//!   one takes ([`pod::PodOptions`]), the shared namespaces and Podman's pod state rule;
//!   [`pod_image`]: the infra image, made locally from the host's catatonit.
//! - [`runtime`]: the [`runtime::OciRuntime`] trait and its two backends,
//!   [`runtime::EmbeddedRuntime`] (berth's own, in-process where it can be) and
//!   [`runtime::ExternalRuntime`] (runc, crun, a path), chosen by [`runtime::resolve`]; the
//!   unit tests' recording fake is `runtime::fake`.
//! - [`reap`]: one reaping mechanism per process: each supervising thread waits for its own
//!   container's pid ([`reap::wait_child`]), a background thread reaps unclaimed orphans.
//! - [`netns`]: a container's own network namespace (`--network none`; berth-network's `NetNs`;
//!   bridge mode's is berth-network's attachment, joined by path), made with `lo` up
//!   before the runtime joins it. [`rootfs`]: refuses a rootfs whose `/dev`, `/proc` or `/sys`
//!   leads elsewhere, and resolves other mount destinations in-root
//!   (`berth_layers::inroot`). [`workdir`]: the working directory made in-root before the
//!   runtime starts. [`exploded`]: `--rootfs DIR[:O]`, a directory as the container's root (or
//!   an overlay's lower layer).
//! - [`secrets`]: secrets as Podman's file driver keeps them (the store under the root,
//!   `--secret` → [`secrets::SecretUse`], and their injection into one start's bundle spec).
//! - [`cp`]: `cp` between a container's root (resolved in-root through pathrs) and the host,
//!   a tar stream or another container: [`cp::Source`] → tar → [`cp::Dest`].
//!   [`image_volumes`]: the image's `VOLUME`s → anonymous volumes filled from the image
//!   through `cp` (`--image-volume bind|tmpfs|ignore`).
//! - [`engine::Engine`]: the lifecycle over one store and run root, one file per part:
//!   [`engine::create`] ([`engine::CreateRequest`]), [`engine::lookup`] (get, list, records
//!   made true), [`engine::start`] and [`engine::supervise`], [`engine::exec`]
//!   ([`engine::ExecRequest`]; `exec -it` under an exec monitor: [`engine::exec_session`]),
//!   [`engine::stop`] (kill, stop, wait), [`engine::remove`],
//!   [`engine::rootfs`] (mount, bundle, release), [`engine::network`] (networks resolved at
//!   create, joined through berth-network at start, left at release), [`engine::volumes`],
//!   [`engine::copy`] (a container's root opened for `cp`). Any runtime can be plugged in
//!   ([`engine::Engine::with_runtime`]).
//! - On top of the engine: [`ephemeral::run_ephemeral`] (a one-off container over a
//!   snapshot its caller owns, the build's `RUN` steps, with no record), [`commit`] (a
//!   container's changes → a new image; `export` → a tar stream), [`logs`], [`top`] (a
//!   running container's processes, from `/proc` by PID namespace), [`stats`] (CPU, memory,
//!   PIDs and I/O from its cgroup, v1 or v2; and Podman's sizes and ages as text), [`inspect`]
//!   (which object a name is, and a container's inspect record in Podman's shape; the
//!   `HostConfig` fields of the daily-use options in [`inspect_options`]),
//!   [`summary`] (a container as `ps` lists it: [`summary::ContainerSummary`], the record of
//!   Podman's `ps --format json` with its STATUS text and COMMAND column, which every front
//!   end builds its list from), [`list_filter`] (which containers a list shows: Podman's
//!   and Docker's container filters for `ps --filter` and both APIs), [`image_removal`] (removing an image with the containers
//!   made from it, `rmi -f`), [`network_admin`] (who uses a network; its removal and
//!   prune, which ask that first: `network rm|prune` and the API's), [`attach_running`]
//!   (`attach C`: a running container's terminal, or its output followed from its log),
//!   [`disk_usage`] (`system df`: images, containers and volumes with their sizes),
//!   [`system_reset`] (`system reset`: containers, networks, then the store's files),
//!   [`pod_summary`] (a pod as `pod ps` lists it and `pod inspect` shows it, Podman's
//!   shapes), [`pod_filter`] (which pods a list shows: Podman's pod filters over those
//!   records), [`leftovers`] (what killed berths leave outside the store, for `system
//!   check`: a RUN step's bundle and runtime state, stale network attachments and
//!   namespaces).
//! - [`systemd_unit`]: `generate systemd`'s unit file for a container, as Podman 4.3 writes
//!   it (with berth's binary).
//! - `testutil` (hidden): container records for tests, here and in the front ends'.

pub mod attach;
pub mod attach_running;
pub mod bundle;
pub mod caps;
pub mod cgroupfs;
pub mod commit;
pub mod console;
pub mod container;
pub mod cp;
pub mod detach;
pub mod disk_usage;
pub mod engine;
pub mod ephemeral;
pub mod error;
pub mod exploded;
pub mod freezer;
pub mod health;
pub mod image_removal;
pub mod image_volumes;
pub mod inspect;
pub mod inspect_options;
pub mod leftovers;
pub mod list_filter;
pub mod logfile;
pub mod logs;
pub mod names;
pub mod netns;
pub mod network_admin;
pub mod oom;
pub mod options;
pub mod pod;
pub mod pod_filter;
pub mod pod_image;
pub mod pod_summary;
pub mod process;
pub mod published;
pub mod reap;
pub mod restart_policy;
pub mod rootfs;
pub mod rootless;
pub mod runtime;
pub mod seccomp;
pub mod secrets;
pub mod signals;
pub mod spec;
pub mod stats;
pub mod summary;
pub mod system_reset;
pub mod systemd_unit;
#[doc(hidden)]
pub mod testutil;
pub mod top;
pub mod user;
pub mod volume_archive;
pub mod volume_filter;
pub mod volumes;
pub mod workdir;

pub use container::{Container, State};
pub use engine::{default_runroot, ConnectRequest, CreateRequest, Engine};
pub use error::{Result, RunError};
pub use options::RunOptions;
