//! Integration tests: drive the `berth` binary as a user does, each test in its own store
//! root, against real files, real overlay mounts and Debian's skopeo, podman and umoci.
//!
//! `util` is the harness (temp store, command builder, busybox base image, cleanup).

mod archives;
mod build;
mod cli_help;
mod closed_output;
mod completion;
mod deep_images;
mod descriptors;
mod docker_api;
mod docker_api_exec;
mod docker_api_images;
mod docker_api_net;
mod docker_clients;
mod events;
mod exec_detach;
mod hostile;
mod images;
mod inspect;
mod interop;
mod list_formats;
mod manifest;
mod network;
mod network_connect;
mod oracles;
mod podman_parity;
mod podman_remote;
mod private_files;
mod registry;
mod registry_documents;
mod registry_harness;
mod registry_hostile;
mod registry_origin;
mod rootless;
mod rootless_network;
mod rootless_run;
mod run;
mod run_cp;
mod run_detach;
mod run_lifecycle;
mod run_network;
mod run_network_opts;
mod run_parity;
mod run_stats;
mod store;
mod trust;
mod trust_interop;
mod util;
