//! berth-build: Containerfile parsing, planning and execution.
//!
//! Not built yet (see the build issue). Each step will prepare a snapshot from
//! `berth-image-store`, run in a `berth-run` container, and turn the upper dir into a layer
//! through `berth-layers`.
