//! Kubernetes YAML for berth: `kube generate` (containers and pods to Kubernetes v1 YAML, as
//! `podman kube generate` writes it), `kube play` (Pod, Deployment, DaemonSet, ConfigMap, Secret and
//! PersistentVolumeClaim documents to pods, containers and volumes) and `kube down`.
//!
//! A crate of its own, not a module of `run/` (DESIGN.md allowed either "if it stays small"): the
//! Kubernetes types come from k8s-openapi, and the player is a second front end over the library
//! calls `berth-run` already offers (`Engine::create_pod`, `start_pod`, `remove_pod`, container
//! creation), which both the CLI and the API's libpod kube endpoints call.
//!
//!
//! Map:
//! - [`documents`]: multi-document YAML to k8s-openapi types; hostile input (size, alias bombs,
//!   depth, not Kubernetes, an unknown kind) refused in one line.
//! - [`unsupported`]: the fields `kube play` reads, per kind; every other one is warned about.
//! - [`pods`]: which pods a file makes, named as Podman 4.3 names them (`kube play` and
//!   `kube down` alike).
//! - [`play`]: `kube play` (claims, secrets, then each pod: infra, volumes, init containers,
//!   containers, start); [`play_container`]: one container to a `CreateRequest`;
//!   [`play_volumes`]: a pod's volumes (hostPath, PVC, ConfigMap files, emptyDir, Secret keys
//!   through berth's secret store); [`quantity`]: Kubernetes quantities.
//! - [`down`]: `kube down`.
//! - [`generate`]: `kube generate [--service]` of containers and pods (the `Pod`, its `Service`,
//!   Podman's header), over [`generate_container`] (one container: command, env, ports,
//!   volumes, security context, limits) and [`generate_yaml`] (serde_norway's YAML with YAML
//!   1.1's booleans quoted, as Kubernetes and Podman read it); its errors in
//!   [`generate_error`].

pub mod documents;
pub mod down;
pub mod generate;
pub mod generate_container;
pub mod generate_error;
pub mod generate_yaml;
pub mod play;
pub mod play_container;
pub mod play_volumes;
pub mod pods;
pub mod quantity;
pub mod unsupported;
