//! berth-trust: containers-policy.json and the trust gate.
//!
//! The gate is a type change: the registry crate builds an [`UnverifiedImage`] (manifest bytes,
//! digest, reference) and only [`Policy::verify`] here can turn it into a [`VerifiedImage`], the
//! one value the pull pipeline accepts before it streams blobs into the store.
//!
//! - [`policy`]: loading (`--signature-policy`, `~/.config/containers/policy.json`,
//!   `/etc/containers/policy.json`, else the embedded `insecureAcceptAnything` default), strict
//!   parsing, scope matching most-specific-first, and evaluation.
//! - [`gate`]: [`UnverifiedImage`] and [`VerifiedImage`].
//!
//! Evaluated now: `insecureAcceptAnything` and `reject`. `signedBy` and `sigstoreSigned` are
//! parsed and refused clearly (signature verification is the trust issue's work).

pub mod gate;
pub mod policy;

pub use gate::{UnverifiedImage, VerifiedImage};
pub use policy::{Policy, PolicySource, Requirement, TrustError};
