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

/// Buildah-style working containers of berth-build (`berth buildah from …`):
/// `working-containers/<id>.json` records and the `working-containers/lock` flock; each
/// one's files are the writable snapshot `snapshots/buildah-<id>/`.
pub const WORKING_CONTAINERS: &str = "working-containers";
/// Key prefix of the writable snapshots a build makes for its steps (`snapshots/build-<id>/`).
/// Such a snapshot lives only while its build holds the store lock shared (the whole build
/// does), so one found under the exclusive lock belongs to a build that was killed:
/// `check` reports it, `check --repair` and gc unmount and remove it.
pub const BUILD_SNAPSHOT_PREFIX: &str = "build-";
/// Secrets of berth-run (`secret create`, `run --secret`): `secrets/secrets.json`, the data in
/// `secrets/data/<id>` (mode 0600), and the `secrets/lock` flock.
pub const SECRETS: &str = "secrets";
