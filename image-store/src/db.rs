//! The store's SQLite database (WAL): schema, migrations, transactions.
//!
//! Tables: `images`, `names`, `image_layers` (each image's chain ids), `layers` (unpacked
//! snapshots by chain id, with a `complete` flag), `diff_sizes` (uncompressed layer sizes), `snapshots` (writable), `image_mounts`.
//! Every multi-row change is one `IMMEDIATE` transaction (so concurrent writers queue on the
//! busy timeout instead of failing a lock upgrade); a busy timeout lets concurrent `berth`
//! processes wait for each other.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use berth_layers::Digest;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Result, StoreError};

/// Schema migrations; `user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
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
"#,
    r#"
CREATE TABLE diff_sizes (
    diff_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"#,
];

/// Open the database at `path`: WAL, busy timeout, foreign keys, `synchronous=NORMAL`,
/// migrations. Every connection to a store's database is opened here (also the run engine's
/// container and volume tables), so all of them commit the same way.
///
/// Openers are serialized by an exclusive flock on `<path>.open-lock`, and a busy answer while
/// opening is retried until the busy timeout: SQLite can answer "database is locked" to the
/// first switch to WAL or to a migration racing another new process without calling the busy
/// handler.
pub fn open(path: &Path) -> Result<Connection> {
    let lock_path = path.with_extension("open-lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| StoreError::io(&lock_path, e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| StoreError::io(&lock_path, e.into()))?;
    make_private(path)?;
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match open_once(path) {
            Err(StoreError::Db(e)) if is_busy(&e) && std::time::Instant::now() < deadline => {
                tracing::debug!(path = %path.display(), error = %e, "store database busy while opening");
                std::thread::sleep(Duration::from_millis(20));
            }
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
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(0);
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

/// Run `f` in one `IMMEDIATE` transaction, committing when it returns `Ok`.
pub(crate) fn immediate<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let v = f(&tx)?;
    tx.commit()?;
    Ok(v)
}

/// Parse a digest stored in a column.
pub(crate) fn digest_col(s: &str) -> Result<Digest> {
    Digest::from_str(s)
        .map_err(|e| StoreError::Invalid(format!("store database holds a bad digest {s:?}: {e}")))
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
