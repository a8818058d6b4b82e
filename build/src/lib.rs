//! berth-build: Containerfile parsing, planning and execution.
//!
//! How a build flows: [`parse`] turns the text into berth's own AST ([`ast::Containerfile`]:
//! [`ast::Instruction`]s with `file:line:col` spans, flags and heredocs; arguments kept raw);
//! [`plan::Plan`] splits it into stages and picks those the target needs; [`build`] runs
//! them ([`executor`]): FROM a local image, a registry image (pulled through
//! `berth-registry`, trust gate included, per `--pull`) or `scratch`, then one step per
//! instruction. A filesystem step is looked up in the layer [`cache`]; on a miss it prepares
//! a writable snapshot (`berth-image-store`) over the stage's current image, does its work
//! (RUN through `berth_run::ephemeral::run_ephemeral`, COPY/ADD through [`copy`]), turns the
//! overlay upper dir into a layer (`berth-layers`) and records an unnamed intermediate
//! image for the next step; metadata steps only change the config.
//! The target's image is written with its names; intermediates are removed; a failure tags
//! nothing and leaves no snapshot or mount.
//!
//! Modules:
//! - [`input`]: what a build starts from: a context directory or a tar stream unpacked
//!   in-root ([`input::StreamedContext`], `build -`), the Containerfile (given, found, or a
//!   stream for `-f -`) with the name its messages show, `--timestamp`/`SOURCE_DATE_EPOCH`.
//! - [`parser`]: directives, comments, continuations, heredocs; `parser::args` the arguments
//!   of each instruction (JSON and shell forms, key=value, flags).
//! - [`expand`]: `$v`, `${v:-w}`, `${v#p}`, `${v/p/r}`… with quotes and escapes.
//! - [`scope`]: ARG/ENV scoping (global ARGs, per-stage ARGs, `--build-arg`, platform and
//!   proxy ARGs).
//! - [`plan`]: stages, `--target`, the stages a target needs.
//! - [`executor`]: [`BuildOptions`] and the step loop; `executor::run_step` (RUN, and the
//!   runtime's mount points pruned from its layer in-root, never through host paths),
//!   `executor::run_mounts` (`RUN --mount=type=cache|tmpfs|bind|secret`),
//!   `executor::copy_step` (COPY/ADD sources, `--link` into an empty snapshot),
//!   `executor::parallel` (`--jobs`: independent stages on threads),
//!   `executor::squash` (`--squash`, `--squash-all`), `executor::step_cache` (a step's result
//!   from the local cache or a `--cache-from` repository, `--cache-to` after it),
//!   `executor::step_report` (step events and notes), [`progress`] (the lines a build prints,
//!   as Buildah's: per-stage `[i/k] STEP n/m`, `FROM` expanded, `--> <id>` after each step,
//!   `--> Using cache <id>`, `COMMIT`).
//! - [`metadata`]: ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR, CMD, ENTRYPOINT, STOPSIGNAL.
//! - [`copy`]: COPY/ADD sources resolved inside the context (or another stage) and read from
//!   descriptors (`berth_layers::inroot`), written into the rootfs by berth-layers'
//!   `RootWriter` (the destination resolved as the image sees it, nothing followed out of the
//!   rootfs); WORKDIR directories too. [`archive`]: which ADD sources are tar archives
//!   (gzip, bzip2, zstd or none; the tar header checked inside) and their decoded stream.
//! - [`cache`]: the layer cache (`--layers`): step keys (parent layers, config, inputs,
//!   source digests) → recorded layers, in the store's `build_cache` table
//!   (`berth_image_store::build_cache`); `prune` drops stale
//!   entries (and, for `system prune -a`, the `RUN --mount=type=cache` dirs).
//! - [`registry_cache`]: the cache shared through a registry (`--cache-from`, `--cache-to`):
//!   each step's result an image tagged `REPO:<step key>` (Buildah's layout), pulled and pushed
//!   by berth-registry's pipelines, an entry used only when it continues the step's parent
//!   and its layer matches its config.
//! - [`step_events`]: the build as data for `--progress=json|tty` ([`step_events::StepEvent`]:
//!   step started, cached, finished with its time and layer; RUN output, the result and an
//!   error for the front end to add), sent to [`BuildOptions::events`].
//! - [`system_prune`]: `system prune` composed (store images and garbage, then the build
//!   cache), returning what went for the front end to print; [`system_info`]: `system info`'s
//!   record ([`system_info::Info`], Podman's JSON names), here as the one crate above the
//!   store, the runtime's directory and the trust policy it reads.
//! - [`fetch`]: `ADD <url>` downloads (http/https, `--checksum=sha256:`), through the registry
//!   crate's client ([`berth_registry::download`]).
//! - [`platform`]: builds for another platform (`--platform linux/arm64`; names normalised as
//!   containerd does, in `berth_registry::platform`): an emulator
//!   registered in binfmt_misc (fix-binary flag) or one line naming what to install, FROM's
//!   image of that platform, the platform written into the config; RUN runs through the
//!   kernel's emulation with nothing of its own.
//! - [`ignore`]: `.containerignore`/`.dockerignore` with Docker's rules.
//! - [`run_network`]: RUN's network from `--network` or the API's `networkmode`, one rule.
//! - [`extras`]: HEALTHCHECK and ONBUILD, kept as Docker's `Healthcheck`/`OnBuild` config
//!   fields (oci-spec's types lack them); a base image's ONBUILD triggers run after FROM.
//! - [`image`]: [`image::ImageState`], the image a stage is making (config, layers,
//!   history), written as OCI or Docker v2s2 ([`Format`]).
//! - [`verbs`]: Buildah's verbs (`berth buildah from|run|copy|add|config|commit|mount|…`):
//!   working containers (a record and a writable snapshot each) changed one command at a
//!   time through the executor's RUN path, the COPY/ADD code and [`image::ImageState`].
//! - [`error`]: [`BuildError`]; parse errors name `file:line:col`, step errors `file:line`
//!   and the instruction (a step that failed on another crate's error keeps it as its
//!   source: `StepFailed`), a failed RUN its exit code.
//!
//! The conformance set (`tests/conformance/`, its deliberate differences from Buildah in
//! `DIFFERENCES.md`) pins the behaviour end to end.
//!
//! Not built yet: `RUN --mount=type=ssh`.

pub mod archive;
pub mod ast;
pub mod cache;
pub mod copy;
pub mod error;
pub mod executor;
pub mod expand;
pub mod extras;
pub mod fetch;
pub mod ignore;
pub mod image;
pub mod input;
pub mod metadata;
pub mod parser;
pub mod plan;
pub mod platform;
pub mod registry_cache;
pub mod run_network;
pub mod scope;
pub mod step_events;
pub mod system_info;
pub mod system_prune;
pub mod verbs;

pub use error::{BuildError, Result};
pub use executor::{build, progress, BuildOptions, PullPolicy, Secret, Squash};
pub use image::Format;
pub use parser::parse;
pub use platform::check_platform;
