//! The store's SQLite database (WAL): schema, migrations, transactions.
//!
//! Tables: `images`, `names`, `image_layers` (each image's chain ids), `layers` (unpacked
//! snapshots by chain id, with a `complete` flag), `diff_sizes` (uncompressed layer sizes),
//! `snapshots` (writable), `image_mounts`;
//! berth-run's `containers` and `volumes`; berth-build's `build_cache`. Every table of the
//! database is created here, by the versioned `MIGRATIONS` (`PRAGMA user_version`), so
//! one place says what a store of each version holds; the upper crates keep their queries.
//! Every multi-row change is one `IMMEDIATE` transaction (so concurrent writers queue on the
//! busy timeout instead of failing a lock upgrade); a busy timeout lets concurrent `berth`
//! processes wait for each other.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use berth_layers::reference::Reference;
use berth_layers::Digest;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::lock::{FileLock, LockMode};

/// Schema migrations; `user_version` counts how many ran. Append only: a store made by an
/// earlier berth has run a prefix of these, and the next open runs the rest.
const MIGRATIONS: &[&str] = &[
    IMAGES,
    CONTAINERS_AND_VOLUMES,
    BUILD_CACHE,
    DIFF_SIZES,
    VOLUME_LABELS,
    PODS,
];

/// 1: image records, names, unpacked layers, snapshots and image mounts.
const IMAGES: &str = r#"
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL,
    created TEXT,
    size INTEGER NOT NULL,
    added TEXT NOT NULL
);
CREATE TABLE names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE INDEX names_image ON names(image_id);
CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    digest TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    chain_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (image_id, idx)
);
CREATE TABLE layers (
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE TABLE snapshots (
    key TEXT PRIMARY KEY,
    image_id TEXT,
    chain TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE image_mounts (
    image_id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    refcount INTEGER NOT NULL,
    mountpoint TEXT NOT NULL
);
"#;

/// 2: berth-run's containers and named volumes (its queries live in run/src/container.rs and
/// run/src/volumes.rs). `IF NOT EXISTS`: berth before this migration had run create them
/// itself, so a store at version 1 may hold them already, rows and all.
const CONTAINERS_AND_VOLUMES: &str = r#"
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image_name TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    command TEXT NOT NULL,
    options TEXT NOT NULL,
    spec TEXT NOT NULL,
    runtime TEXT NOT NULL,
    auto_remove INTEGER NOT NULL,
    labels TEXT NOT NULL,
    created TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    pid_start INTEGER,
    monitor_pid INTEGER,
    monitor_start INTEGER,
    exit_code INTEGER,
    error TEXT,
    started TEXT,
    finished TEXT
);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
"#;

/// 3: the build cache index (`build_cache.rs`): one row per step key, with the layer the
/// step made (all four layer columns, or none for a metadata step), its history time, and
/// when the row was last written (what `--cache-ttl` measures). It replaces the JSON files
/// under `build-cache-index/` of berth before this migration: their entries are not carried
/// over (a store upgraded from them rebuilds its cache), and `system prune` removes them.
const BUILD_CACHE: &str = r#"
CREATE TABLE build_cache (
    key TEXT PRIMARY KEY,
    digest TEXT,
    size INTEGER,
    media_type TEXT,
    diff_id TEXT,
    created TEXT,
    written TEXT NOT NULL
);
"#;

/// 4: layers' uncompressed sizes by diff_id (`diff_size.rs`), which `images` and `history` show.
const DIFF_SIZES: &str = r#"
CREATE TABLE diff_sizes (
    diff_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"#;

/// 5: a volume's labels (`volume create --label`, the API's `Labels`), a JSON object.
const VOLUME_LABELS: &str = r#"
ALTER TABLE volumes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
"#;

/// 6 (pods, issue 17): one row per pod (`run/src/pod.rs`): its id and unique name, when it
/// was made, and its settings as JSON (`PodConfig`: infra container, shared namespaces,
/// labels, the infra's network options). Members name their pod in their options.
const PODS: &str = r#"
CREATE TABLE pods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    config TEXT NOT NULL
);
"#;

/// Open the database at `path`: WAL, busy timeout, foreign keys, `synchronous=NORMAL`,
/// migrations. Every connection to a store's database is opened here (also the run engine's
/// for its container and volume tables), so all of them commit the same way and see the same
/// schema.
///
/// Openers are serialized by an exclusive flock on `<path>.open-lock`, and a busy answer while
/// opening is retried until the busy timeout: SQLite can answer "database is locked" to the
/// first switch to WAL or to a migration racing another new process without calling the busy
/// handler.
pub fn open(path: &Path) -> Result<Connection> {
    let lock_path = path.with_extension("open-lock");
    let _lock = FileLock::acquire(&lock_path, LockMode::Exclusive)
        .map_err(|e| StoreError::io(&lock_path, e))?;
    make_private(path)?;
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match open_once(path) {
            Err(StoreError::Db(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                tracing::debug!(path = %path.display(), error = %e, "store database busy while opening");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(StoreError::Db(e)) => return Err(out_of_space(path, e)),
            other => return other,
        }
    }
}

/// Create the database file 0600 before SQLite does (SQLite would make it 0644 less the umask;
/// it gives its `-wal` and `-shm` files the database's mode), and tighten a database and its
/// `-wal`/`-shm` left wider by an older berth: the containers table holds their environments.
///
/// An existing file is only looked at and changed by path, never opened: closing any
/// descriptor of a database file drops the POSIX locks this process's other connections hold
/// on it (see SQLite's "How To Corrupt" §2.2).
fn make_private(path: &Path) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => {
            // New, so no connection has it open: set the mode exactly, whatever the umask.
            return rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600))
                .map_err(|e| StoreError::io(path, e.into()));
        }
        Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(StoreError::io(path, e.into())),
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    for p in [path, Path::new(&wal), Path::new(&shm)] {
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(p, e)),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(|e| StoreError::io(p, e))?;
        }
    }
    Ok(())
}

/// How long a berth process waits for another one holding the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn open_once(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Switching to WAL needs a write lock; the busy timeout covers concurrent openers.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "store database is not in WAL mode");
    }
    conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")?;
    // The last connection's close checkpoints the WAL (two fsyncs). Skipping that
    // (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`) was measured and is worse: the next process, the
    // first connection again, rebuilds the WAL index by reading the whole WAL (up to 1000
    // frames, 1,000 preads per `run`, 22 → 45 ms).
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // Up to date (every open but the first after an upgrade): read only. A write here would
    // take the write lock and put a frame in the WAL (with its fsyncs) at every command.
    if schema_version(conn)? == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version = schema_version(&tx)?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::FailedPrecondition(format!(
            "store database schema version {version} is newer than this berth ({})",
            MIGRATIONS.len()
        )));
    }
    for m in &MIGRATIONS[version..] {
        tx.execute_batch(m)?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len()))?;
    tx.commit()?;
    Ok(())
}

/// The schema's version (`PRAGMA user_version`; 0 for a new database).
fn schema_version(conn: &Connection) -> Result<usize> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(usize::try_from(version).unwrap_or(0))
}

/// Run `f` in one `IMMEDIATE` transaction, committing when it returns `Ok`.
/// Make every committed transaction durable: fsync the WAL (and the database file). Commits
/// run with `synchronous=NORMAL`, which does not fsync the WAL at each commit; gc calls this
/// before it unlinks the files whose records a committed transaction removed, so a power loss
/// cannot bring back a record whose blob or layer is gone.
pub(crate) fn make_durable(database: &Path) -> Result<()> {
    let wal = database.with_file_name(format!("{}-wal", crate::layout::DATABASE));
    for path in [wal.as_path(), database] {
        match std::fs::File::open(path) {
            Ok(f) => f.sync_all().map_err(|e| StoreError::io(path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(path, e)),
        }
    }
    Ok(())
}

pub(crate) fn immediate<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let path = conn.path().map(std::path::PathBuf::from);
    let full = |e: rusqlite::Error| match &path {
        Some(p) => out_of_space(p, e),
        None => StoreError::Db(e),
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(full)?;
    let v = match f(&tx) {
        Err(StoreError::Db(e)) => return Err(full(e)),
        other => other?,
    };
    tx.commit().map_err(full)?;
    Ok(v)
}

/// SQLite's error for a write that found no room, as what it is: ENOSPC on the database's
/// path. SQLite says "database or disk is full", or, when the shared-memory index cannot
/// grow, "disk I/O error" with a code of its own; either on a file system with no block left
/// for berth is a full disk. Other errors pass unchanged.
fn out_of_space(database: &Path, e: rusqlite::Error) -> StoreError {
    let code = e.sqlite_error_code();
    let maybe_full = matches!(
        code,
        Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
    );
    let dir = database.parent().unwrap_or(database);
    let no_room = || rustix::fs::statvfs(dir).is_ok_and(|st| st.f_bavail == 0);
    if code == Some(rusqlite::ErrorCode::DiskFull) || (maybe_full && no_room()) {
        return StoreError::io(database, std::io::Error::from_raw_os_error(libc::ENOSPC));
    }
    StoreError::Db(e)
}

/// Parse a digest stored in a column.
pub(crate) fn digest_col(s: &str) -> Result<Digest> {
    Digest::from_str(s)
        .map_err(|e| StoreError::Invalid(format!("store database holds a bad digest {s:?}: {e}")))
}

/// Parse an image name stored in a column: its text is its canonical form (the store
/// normalises every name before recording it).
pub(crate) fn reference_col(s: &str) -> Result<Reference> {
    Reference::parse_canonical(s)
        .map_err(|e| StoreError::Invalid(format!("store database holds a bad image name: {e}")))
}

/// Parse an RFC 3339 time stored in a column.
pub(crate) fn time_col(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Now, as stored.
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        drop(open(&p).unwrap());
        let c = open(&p).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }

    /// A store made by berth before migrations 2 and 3: schema version 1, and the tables
    /// berth-run then created itself (`CREATE TABLE IF NOT EXISTS`, as in that version's
    /// run/src/container.rs and run/src/volumes.rs), with rows. Opening it migrates forward and
    /// keeps every row.
    #[test]
    fn a_version_1_store_with_run_tables_opens_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berth.db");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS containers (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image_id TEXT NOT NULL,
                    image_name TEXT NOT NULL, snapshot TEXT NOT NULL, command TEXT NOT NULL,
                    options TEXT NOT NULL, spec TEXT NOT NULL, runtime TEXT NOT NULL,
                    auto_remove INTEGER NOT NULL, labels TEXT NOT NULL, created TEXT NOT NULL,
                    state TEXT NOT NULL, pid INTEGER, pid_start INTEGER, monitor_pid INTEGER,
                    monitor_start INTEGER, exit_code INTEGER, error TEXT, started TEXT,
                    finished TEXT);
                 CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, created TEXT NOT NULL);
                 INSERT INTO containers (id, name, image_id, image_name, snapshot, command,
                     options, spec, runtime, auto_remove, labels, created, state)
                     VALUES ('c1', 'web', 'i', 'n', 'c1', '[]', '{}', '{}', 'embedded', 0, '[]',
                     '2026-01-01T00:00:00Z', 'exited');
                 INSERT INTO volumes VALUES ('data', '2026-01-01T00:00:00Z');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let c = open(&p).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let name: String = c
            .query_row("SELECT name FROM containers WHERE id = 'c1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(name, "web");
        let n: i64 = c
            .query_row("SELECT count(*) FROM volumes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        c.execute(
            "INSERT INTO build_cache (key, created, written) VALUES ('k', 't', 't')",
            [],
        )
        .unwrap();
    }

    /// A version-1 store that never ran a container (no run tables) gets them on open.
    #[test]
    fn a_version_1_store_without_run_tables_gets_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berth.db");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute_batch("PRAGMA user_version = 1;").unwrap();
        }
        let c = open(&p).unwrap();
        for table in ["containers", "volumes", "build_cache"] {
            let n: i64 = c
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berth.db");
        drop(open(&p).unwrap());
        Connection::open(&p)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len() + 1))
            .unwrap();
        let e = open(&p).unwrap_err().to_string();
        assert!(e.contains("newer than this berth"), "{e}");
    }

    fn mode_of(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn database_wal_and_shm_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berth.db");
        let c = open(&p).unwrap();
        c.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('secret');")
            .unwrap();
        // A second connection of the same process: opening it must not disturb the first
        // (its locks), and both see the same rows.
        let c2 = open(&p).unwrap();
        c.execute("INSERT INTO t VALUES ('more')", []).unwrap();
        let n: i64 = c2
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        for suffix in ["", "-wal", "-shm"] {
            assert_eq!(
                mode_of(&dir.path().join(format!("berth.db{suffix}"))),
                0o600,
                "{suffix}"
            );
        }
        drop((c, c2));
        // Files an older berth left 0644 are tightened on the next open.
        for suffix in ["", "-wal"] {
            let f = dir.path().join(format!("berth.db{suffix}"));
            if f.exists() {
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        drop(open(&p).unwrap());
        assert_eq!(mode_of(&p), 0o600);
    }
}
