//! The store's SQLite database (WAL): schema, migrations, transactions.
//!
//! Tables: `images`, `names`, `image_layers` (each image's chain ids), `layers` (unpacked
//! snapshots by chain id, with a `complete` flag), `snapshots` (writable), `image_mounts`.
//! Every multi-row change is one `IMMEDIATE` transaction (so concurrent writers queue on the
//! busy timeout instead of failing a lock upgrade); a busy timeout lets concurrent `berth`
//! processes wait for each other.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use berth_layers::Digest;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Result, StoreError};

/// Schema migrations; `user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

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
        .open(&lock_path)
        .map_err(|e| StoreError::io(&lock_path, e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| StoreError::io(&lock_path, e.into()))?;
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
}
