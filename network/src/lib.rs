//! berth-network: container networks as Podman 4 has them, driven through netavark.
//!
//! What this crate owns (see ARCHITECTURE.md, "Networking"): the network definitions
//! (netavark's JSON format, in berth's own config directory), IP assignment, network
//! namespaces, the netavark/aardvark-dns driver, pasta/slirp4netns for rootless, the
//! rootless netns where a plain user's bridge networks live, and port mappings. `berth-run` asks it for a container's namespace; the CLI's `berth network`
//! commands call it directly.
//!
//! The modules, bottom up (each uses only modules above it in this list, or none):
//! - [`error`]: [`NetworkError`], one variant per kind, each naming what it concerns.
//! - [`ports`]: `-p/--publish` and `-P/--publish-all` (Podman's syntax, ranges, random host
//!   ports) as netavark's `port_mappings`.
//! - [`config`]: a network definition ([`Network`]) in netavark's JSON format, as Podman 4
//!   writes it: serde, validation (names, subnets, gateways, lease ranges), subnet arithmetic.
//! - [`dirs`]: where a user's networks live ([`NetworkDirs`]: definitions host-wide per user,
//!   IPAM, netavark state and namespaces in a per-user run directory).
//! - [`hostnets`]: the subnets the host already uses (interface addresses, routes).
//! - [`catalog`]: the definitions on disk ([`Catalog`]): the default network `berth`,
//!   `create` (free subnet and bridge picked), lookup, removal; locked, written atomically.
//! - [`ipam`]: IP assignment in `ipam.db` (SQLite) in the run directory.
//! - [`netns`]: network namespaces with `lo` up, bind-mounted on a file (a bundle's, or a
//!   persistent one under the run directory).
//! - [`netavark`]: the driver: finds netavark and aardvark-dns, its JSON types, setup and
//!   teardown.
//! - [`usernet`]: a user-mode network helper process of one container ([`UserNet`]: its
//!   record in the container's run state, its end by pid, its namespace removed).
//! - [`pasta`] and [`slirp4netns`]: the rootless networks, each starting its helper on a new
//!   namespace with `-p` forwarded (pasta's `-t`/`-u`; slirp4netns's API `add_hostfwd`).
//! - [`port_forward`]: rootless `-p` on bridge networks (Podman's rootlessport): a forwarder
//!   process from the host's ports to the container's address in the rootless netns.
//! - [`rootless_netns`]: the rootless netns (Podman's "rootless-netns"): one namespace of
//!   berth's user namespace, connected to the host by pasta or slirp4netns, where a plain
//!   user's netavark, bridges and aardvark-dns run; made on first use, destroyed with the
//!   last attachment.
//! - [`attach`]: what the container lifecycle calls: [`attach()`](attach::attach) and
//!   [`detach`](attach::detach), undoing everything on failure; [`attached`](attach::attached):
//!   who is on a network now; [`attach_owned`](attach::attach_owned) and [`owned`](attach::owned):
//!   the process that must detach a container no monitor watches (a build's RUN step), and
//!   the store a record belongs to.
//! - [`stale`]: what killed berths leave in the run directory (records no process will
//!   detach, namespaces no record names), found and repaired for `system check`.
//! - [`connect`]: a running container's networks changed in place: [`connect()`](connect::connect)
//!   and [`disconnect`](connect::disconnect) one network (netavark for that network alone,
//!   the IPAM and the attachment record kept true), [`reload`](connect::reload) its firewall
//!   rules (`network reload`); [`dns_name_problem`](config::dns_name_problem): a container
//!   name or alias aardvark-dns could not serve.

pub mod attach;
pub mod catalog;
pub mod config;
pub mod connect;
pub mod dirs;
pub mod error;
pub mod hostnets;
pub mod ipam;
pub mod netavark;
pub mod netns;
pub mod pasta;
pub mod port_forward;
pub mod ports;
pub mod rootless_netns;
pub mod slirp4netns;
pub mod stale;
pub mod usernet;

pub use attach::AttachedNetwork;
pub use attach::{
    attach, attach_owned, attached, detach, owned, Attachment, Keeper, NetworkRequest, Owner,
};
pub use catalog::{Catalog, CreateOptions, DEFAULT_NETWORK};
pub use config::Network;
pub use dirs::NetworkDirs;
pub use error::{NetworkError, Result};
pub use usernet::UserNet;
