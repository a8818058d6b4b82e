//! berth-run: OCI runtime spec generation, runtime backends and the container monitor.
//!
//! Not built yet (see the run issue).
