//! Kubernetes YAML for berth: `kube generate` (containers and pods to Kubernetes v1 YAML, as
//! `podman kube generate` writes it), `kube play` (Pod, Deployment, DaemonSet, ConfigMap, Secret and
//! PersistentVolumeClaim documents to pods, containers and volumes) and `kube down`.
//!
//! A crate of its own, not a module of `run/` (DESIGN.md allowed either "if it stays small"): the
//! Kubernetes types come from k8s-openapi, and the player is a second front end over the library
//! calls `berth-run` already offers (`Engine::create_pod`, `start_pod`, `remove_pod`, container
//! creation), which both the CLI and the API's libpod kube endpoints call.
//!
//! Map (modules are added as they land):
