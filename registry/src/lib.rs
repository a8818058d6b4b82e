//! berth-registry: the OCI distribution client and the pull/push pipelines.
//!
//! Not built yet (see the registry issue). It will own image references, registries.conf,
//! credentials, and streaming blobs between a registry and `berth-image-store`, handing every
//! manifest to `berth-trust` before any blob is stored.
