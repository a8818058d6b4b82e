//! berth-trust: containers-policy.json, signatures, and the trust gate.
//!
//! The gate is a type change: the registry crate builds an [`UnverifiedImage`] (manifest bytes,
//! digest, reference) and only [`Policy::verify`] here can turn it into a [`VerifiedImage`], the
//! one value the pull pipeline accepts before it streams blobs into the store.
//!
//! - [`policy`]: loading (`--signature-policy`, `~/.config/containers/policy.json`,
//!   `/etc/containers/policy.json`, else the embedded `insecureAcceptAnything` default), strict
//!   parsing, scope matching most-specific-first, and evaluation of every requirement.
//! - [`config_dir`]: where the containers configuration files are (`~/.config/containers`,
//!   `/etc/containers`), for this crate and berth-registry.
//! - [`containers_conf`]: containers.conf (`$CONTAINERS_CONF`, `/usr/share/containers`,
//!   `/etc/containers` and its `.d`, the rootless user's), typed for the keys berth uses.
//! - [`storage_conf`]: storage.conf's store location (`graphroot`, `runroot`,
//!   `rootless_storage_path`; `driver` overlay only), read by the CLI without `--root`.
//! - [`identity`]: `signedIdentity` matching (`matchExact`, `matchRepoDigestOrExact`, …)
//!   over berth-layers' one reference parser (`berth_layers::reference::Reference`).
//! - [`payload`]: the simple-signing payload (atomic and cosign flavours): make and parse.
//! - [`sigstore`]: cosign-format keys (encrypted private key, PEM public key), sign, verify;
//!   [`sigstore::KeyPairFiles`]: `generate-sigstore-key`'s two files.
//! - [`gpg`]: OpenPGP verification of simple signing, and signing through `gpg`.
//! - [`registries_d`]: `registries.d/*.yaml`: lookaside URLs and sigstore attachments per scope.
//! - [`edit`]: `image trust show|set`; `show`'s rows ([`edit::TrustEntry`]) and the record
//!   `--json` prints of each ([`edit::TrustRecord`], Podman's JSON names).
//! - [`signature`]: the [`SignatureSource`] contract the registry crate implements.
//! - [`gate`]: [`UnverifiedImage`] and [`VerifiedImage`].
//! - [`error`]: [`TrustError`], every failure of this crate with its kind and its object.

pub mod config_dir;
pub mod containers_conf;
pub mod edit;
pub mod error;
pub mod gate;
pub mod gpg;
pub mod identity;
pub mod payload;
pub mod policy;
pub mod registries_d;
pub mod signature;
pub mod sigstore;
pub mod storage_conf;

pub use error::TrustError;
pub use gate::{UnverifiedImage, VerifiedImage};
pub use policy::{KeySource, Policy, PolicySource, Requirement};
pub use signature::{NoSignatures, SignatureSource, SigstoreSignature};
