//! berth-network: container networks as Podman 4 has them, driven through netavark.
//!
//! What this crate owns (see ARCHITECTURE.md, "Networking"): the network definitions
//! (netavark's JSON format, in berth's own config directory), IP assignment, network
//! namespaces, the netavark/aardvark-dns driver, pasta/slirp4netns for rootless, and port
//! mappings. `berth-run` asks it for a container's namespace; the CLI's `berth network`
//! commands call it directly.
//!
//! The modules, bottom up (each uses only modules above it in this list, or none):
//! - [`ports`]: `-p/--publish` and `-P/--publish-all` (Podman's syntax, ranges, random host
//!   ports) as netavark's `port_mappings`.

pub mod ports;
