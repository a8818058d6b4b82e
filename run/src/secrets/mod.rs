//! Secrets, as Podman 4.3's `file` driver keeps them: `secret create|ls|inspect|rm|exists`
//! and `run --secret`.
//!
//! - [`store`]: the one place a secret's data lives, under the store root
//!   (`secrets/data/<id>`, mode 0600 in directories of mode 0700; names and dates in
//!   `secrets/secrets.json`), Podman's name rules, size limit and error words.
//! - [`filter`]: `secret ls --filter` (`name`, `id`: regular expressions), as Podman 4.3.
//! - [`usage`]: `--secret NAME[,type=mount|env,target=…,uid=…,gid=…,mode=…]` →
//!   [`SecretUse`], kept in the container's options by id (never its data).
//! - [`inject`]: at each start, into the bundle only: a mount secret is copied into the
//!   bundle (`secrets/<name>`, with its uid, gid and mode) and bind-mounted read-only at
//!   `/run/secrets/<name>` or its target; an env secret is added to the process's
//!   environment. Neither reaches the container's record, its `inspect`, its layers or a
//!   `commit`.

pub mod filter;
pub mod inject;
pub mod store;
pub mod usage;

pub use filter::SecretFilters;
pub use store::{Secret, SecretStore, MAX_SECRET_SIZE};
pub use usage::{SecretKind, SecretUse};
