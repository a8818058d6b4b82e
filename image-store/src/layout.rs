//! Names of the paths under a store root that other crates use; the whole layout, with what
//! each path holds and who writes it, is in this crate's doc (lib.rs). A crate that keeps
//! something under the root takes its name from here, so the layout has one owner.

/// The SQLite database (every table: see `db.rs`).
pub const DATABASE: &str = "berth.db";

/// Named volumes of berth-run: `volumes/<name>/_data` (rows in table `volumes`).
pub const VOLUMES: &str = "volumes";

/// `RUN --mount=type=cache` directories of berth-build: `build-cache/<id>/` with a
/// `<id>.lock` flock beside each.
pub const BUILD_MOUNT_CACHES: &str = "build-cache";

/// Manifest lists (`berth manifest …`): `manifests/<sha256 of the name>.json` and the
/// `manifests/lock` flock (`manifest_lists.rs`).
pub const MANIFEST_LISTS: &str = "manifests";

/// Secrets of berth-run (`secret create`, `run --secret`): `secrets/secrets.json`, the data in
/// `secrets/data/<id>` (mode 0600), and the `secrets/lock` flock.
pub const SECRETS: &str = "secrets";
