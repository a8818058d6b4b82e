//! Buildah's verbs for scripted builds (`berth buildah …`): working containers made, changed
//! and committed one command at a time, through the build's own code.
//!
//! A working container is a record ([`record::WorkingContainer`], a JSON file under the
//! store's `working-containers/`) and a writable snapshot (`buildah-<id>`) over its base
//! image. Every verb is one function taking the store and the container's name or id:
//! - [`from::from`]: the record and the snapshot, over a local or pulled image or `scratch`;
//! - [`mount`]: `mount`, `umount`, `rm` (whether a container is mounted is the mount table's
//!   word, so it holds across processes);
//! - [`run::run`]: one process in it, through the build's RUN path
//!   (`executor::run_step::run_in_snapshot`, `executor::run_mounts`);
//! - [`copy::copy`]: `copy`/`add`, through the build's COPY/ADD code ([`crate::copy`], the
//!   in-root writer);
//! - [`config::config`]: every `config` flag, onto the record's image config (`--env` values
//!   expanded as Buildah does, Go's `os.Expand`: [`go_expand`]);
//! - [`commit::commit`]: the upper dir as one layer over the base image's, written by the
//!   build's [`crate::image::ImageState`] (and squashed by the build's squash);
//! - [`inspect`]: `inspect`'s and `containers`' records in Buildah's shapes.
//!
//! The front end (`src/buildah/`) parses flags, prints, and delegates `images`, `tag` and
//! `push` to the commands that already do them.

pub mod commit;
pub mod config;
pub mod copy;
pub mod from;
pub mod go_expand;
pub mod inspect;
pub mod mount;
pub mod record;
pub mod run;

pub use record::{Records, WorkingContainer};
