//! berth-registry: image references, registries.conf, credentials, the OCI distribution
//! client, and the pull and push pipelines between a registry and `berth-image-store`.
//!
//! Map:
//! - [`reference`](mod@reference): berth-layers' one reference parser
//!   (`berth_layers::reference`: `busybox` → `docker.io/library/busybox:latest`, short names,
//!   limits) with the client's policy: `docker://` accepted, sha256 digests only.
//! - [`config`]: registries.conf v2 (prefix/location rewrite, insecure, blocked, mirrors,
//!   `unqualified-search-registries`, `short-name-mode`, aliases), drop-ins, strict parsing.
//! - [`auth`]: auth.json / Docker config.json read and write (0600), lookup by host/repo
//!   under one key form ([`auth::auth_key`], for file keys and `login`/`logout` input alike),
//!   `credHelpers`/`credsStore` through `docker-credential-*`.
//! - [`client`]: the HTTP client (ping, Basic/Bearer challenges with per-scope token reuse,
//!   manifests capped at 4 MiB, streaming blob GET and monolithic upload, tag list, catalog;
//!   `client::fuzzing`, hidden: the `WWW-Authenticate` and `Link` parsers for `fuzz/`).
//!   Blocking methods over the process's one tokio runtime (`client::runtime`, built on
//!   first use), clients with the same TLS setting sharing one HTTP client. Credentials: one function,
//!   `client::origin::credentials_for`, decides for every request (each redirect hop too:
//!   berth follows redirects itself) which credentials it may carry: the registry's
//!   `Authorization` only to the registry's origin (scheme, host, port); Basic credentials to
//!   the bearer realm it names, never over plain HTTP from an HTTPS registry (refused);
//!   nothing to any other origin (a CDN redirect, an upload `Location` elsewhere, whose 401
//!   is not answered); no redirect from HTTPS to plain HTTP unless insecure. A `Link` page
//!   keeps only its path and query, on the registry's origin.
//! - [`download`]: a plain http(s) URL (a build's `ADD <url>`) into a file through the same
//!   client (certs.d, proxies, redirect policy, retries), its digest checked while it streams.
//! - [`connect`]: `--tls-verify`/`--authfile`/`--creds`/`--cert-dir` → a pinged client.
//! - [`login`]: `login` (a typed [`login::LoginRequest`]: credentials checked against `/v2/`,
//!   then stored under [`auth::auth_key`]), `login --get-login` and `logout`; the front end
//!   reads the password.
//! - [`progress`]: byte-level progress of blob transfers, for bars on a terminal.
//! - [`platform`]: picking one manifest from an index or a manifest list.
//! - [`instance`]: the manifest an index entry names, fetched and checked against the entry
//!   (size before the request, digest, media type). Every manifest the client fetches passes
//!   `berth_layers::document::check_document` (CVE-2021-41190: declared types agree, no
//!   field of another kind, every descriptor digest supported).
//! - [`remote`]: `docker://` as [`berth_image_store::copy::ImageSource`] (only from a
//!   [`berth_trust::VerifiedImage`]) and [`berth_image_store::copy::ImageDestination`].
//! - [`pull`]: resolve → manifest → platform → trust gate → parallel, retried, verified blob
//!   streams into the store → image record (`--all-tags` too). Pull does not go through
//!   `copy_image` (it fetches blobs in parallel), but writes through the same
//!   `StoreDestination` and `ContentStore::put_verified`.
//! - [`pull_policy`]: `--pull` ([`pull_policy::PullPolicy`], parsed once) and the one
//!   "pull if missing" decision, for pull on `run`/`create` ([`pull_policy::ensure_image`]) and
//!   build's `FROM` ([`pull_policy::decide`]).
//! - [`convert`]: what push changes on the way: `--compression-format` (streamed
//!   recompression into the store), `--force-compression`, `--format oci|v2s2`.
//! - [`push`]: store → registry: blobs uploaded in parallel (HEAD-skip, retries), then the
//!   one copy routine writes the manifest by digest, then the tag.
//! - [`retry`]: the one notion of retry: what may pass ([`RegistryError::is_retryable`],
//!   containers/common's rules, asked of the error's kind, never its words) and how often
//!   ([`retry::RetryPolicy`], Podman's 3 × 1 s); used by a whole pull, push or download
//!   ([`retry::if_necessary`]) and by each blob of pull and push ([`retry::blob`], which
//!   resumes a cut download).
//! - [`error`]: [`RegistryError`]; an HTTP failure carries its [`error::NetFailure`] kind.
//!   Registry errors cross the store's copy routine whole (`StoreError::Transport`, made by
//!   [`remote::to_store`]) and come back as themselves.
//! - [`inspect`]: `berth image inspect docker://REF` (Skopeo's `inspect`: summary, `--raw`, `--config`).
//! - [`manifest_list`]: `berth manifest …`: local lists under `<root>/manifests/`, add, annotate, push.
//! - [`search`]: `berth search` over registry catalogs.
//! - [`signatures`]: sigstore attachments (`sha256-<hex>.sig`) and lookaside GPG signatures:
//!   read for the trust gate, written after a push, a copy or `berth image sign`.
//! - [`sign`]: `berth image sign`: an image already in a registry, its manifest fetched from
//!   the push endpoint of its name, signed through [`signatures::sign_image`].
//! - [`copy_list`]: `berth copy --all`: a manifest list and all its images, registry to
//!   registry, each image accepted as an instance of the verified list. Called by [`copy`]
//!   with the destination reference and options, so it knows nothing of copy's types.
//! - [`copy`]: `berth copy` between `docker://`, `oci:`, `oci-archive:`, `docker-archive:` and
//!   the store, through the same routine.
//!
//! Data enters as a manifest wrapped in [`berth_trust::UnverifiedImage`]; only after
//! `berth_trust::Policy::verify` returns a `VerifiedImage` are blobs fetched into the store.

pub mod auth;
pub mod client;
pub mod config;
pub mod connect;
pub mod convert;
pub mod copy;
pub mod copy_list;
pub mod download;
pub mod error;
pub mod inspect;
pub mod instance;
pub mod login;
pub mod manifest_list;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod pull_policy;
pub mod push;
pub mod reference;
pub mod remote;
pub mod retry;
pub mod search;
pub mod sign;
pub mod signatures;
#[cfg(test)]
mod test_server;

pub use error::{RegistryError, Result};
pub use reference::Reference;
