//! Container records in the store's database (`berth.db`, table `containers`).
//!
//! A record holds what the container is (id, name, image, snapshot key, command, options,
//! the generated spec) and what it is doing (state, pids, exit code, times). The state is
//! `created`, `running` or `exited`; a running record whose monitor and process are both gone
//! is reported (and saved) as exited with no exit code, so `ps` stays true after a crash.
//!
//! The columns are text (the image id `sha256:…` or empty, the spec as pretty JSON, the
//! options as JSON); [`Container`] holds them typed, read and written at this boundary only.

use std::path::Path;

use std::str::FromStr;
use std::sync::OnceLock;

use berth_layers::Digest;
use chrono::{DateTime, Utc};
use oci_spec::runtime::Spec;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::error::{Result, RunError};
use crate::options::RunOptions;
use crate::process::proc_start_time;

/// A container's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Created,
    /// `init`: made in the runtime, its process waiting for `start` (Podman's
    /// `initialized`); its monitor holds it.
    Initialized,
    Running,
    Exited,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Initialized => "initialized",
            State::Running => "running",
            State::Exited => "exited",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "running" => State::Running,
            "initialized" => State::Initialized,
            "exited" => State::Exited,
            _ => State::Created,
        }
    }
}

/// One container.
#[derive(Debug, Clone, Serialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    /// The image's id (the digest of its config); `None` for a `--rootfs` container. Shown
    /// (and stored) as `sha256:…`, or as an empty string when there is none.
    #[serde(serialize_with = "image_id_text")]
    pub image_id: Option<Digest>,
    pub image_name: String,
    pub snapshot: String,
    pub command: Vec<String>,
    pub options: RunOptions,
    /// The runtime spec (`config.json`), stored as its JSON text and parsed on first use.
    #[serde(skip)]
    pub spec: StoredSpec,
    pub runtime: String,
    pub auto_remove: bool,
    pub labels: Vec<(String, String)>,
    pub created: DateTime<Utc>,
    pub state: State,
    pub pid: Option<u32>,
    #[serde(skip)]
    pub pid_start: Option<u64>,
    pub monitor_pid: Option<u32>,
    #[serde(skip)]
    pub monitor_start: Option<u64>,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
}

/// The runtime spec as a record stores it: its JSON text, parsed on first use, so a list of
/// many containers parses no spec it does not show (`ps -a` over 100 containers spent half
/// its time parsing specs when records held them parsed).
#[derive(Debug, Clone)]
pub struct StoredSpec {
    text: String,
    parsed: OnceLock<Spec>,
}

impl StoredSpec {
    /// The spec; an error when the stored text is not one.
    pub fn get(&self) -> Result<&Spec> {
        if let Some(spec) = self.parsed.get() {
            return Ok(spec);
        }
        let spec: Spec = serde_json::from_str(&self.text)
            .map_err(|e| RunError::Spec(format!("the stored spec: {e}")))?;
        Ok(self.parsed.get_or_init(|| spec))
    }
}

impl From<Spec> for StoredSpec {
    /// A spec already parsed (a record made in memory).
    fn from(spec: Spec) -> StoredSpec {
        StoredSpec {
            text: String::new(),
            parsed: OnceLock::from(spec),
        }
    }
}

/// An image id as the record has it: `sha256:…`, or empty.
fn image_id_text<S: serde::Serializer>(
    id: &Option<Digest>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(d) => s.collect_str(d),
        None => s.serialize_str(""),
    }
}

impl Container {
    /// The first 12 characters of the id.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// The image id's hex (without `sha256:`), or empty for a `--rootfs` container.
    pub fn image_id_hex(&self) -> &str {
        self.image_id.as_ref().map_or("", |d| d.digest())
    }
}

/// What a new record needs.
pub struct NewContainer<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub image_id: Option<&'a Digest>,
    pub image_name: &'a str,
    pub command: &'a [String],
    pub options: &'a RunOptions,
    pub spec: &'a Spec,
    pub runtime: &'a str,
    pub auto_remove: bool,
    pub labels: &'a [(String, String)],
}

/// The container table of one store.
pub struct Records {
    conn: Connection,
}

fn time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Container> {
    let conversion = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let json_err = |i: usize, e: serde_json::Error| conversion(i, Box::new(e));
    let command: String = r.get("command")?;
    let options: String = r.get("options")?;
    let labels: String = r.get("labels")?;
    let image_id: String = r.get("image_id")?;
    let spec: String = r.get("spec")?;
    Ok(Container {
        id: r.get("id")?,
        name: r.get("name")?,
        image_id: match image_id.as_str() {
            "" => None,
            id => Some(Digest::from_str(id).map_err(|e| conversion(2, Box::new(e)))?),
        },
        image_name: r.get("image_name")?,
        snapshot: r.get("snapshot")?,
        command: serde_json::from_str(&command).map_err(|e| json_err(5, e))?,
        options: serde_json::from_str(&options).map_err(|e| json_err(6, e))?,
        spec: StoredSpec {
            text: spec,
            parsed: OnceLock::new(),
        },
        runtime: r.get("runtime")?,
        auto_remove: r.get("auto_remove")?,
        labels: serde_json::from_str(&labels).map_err(|e| json_err(10, e))?,
        created: time(r.get("created")?).unwrap_or_default(),
        state: State::parse(&r.get::<_, String>("state")?),
        pid: r.get("pid")?,
        pid_start: r.get::<_, Option<i64>>("pid_start")?.map(|v| v as u64),
        monitor_pid: r.get("monitor_pid")?,
        monitor_start: r.get::<_, Option<i64>>("monitor_start")?.map(|v| v as u64),
        exit_code: r.get("exit_code")?,
        error: r.get("error")?,
        started: time(r.get("started")?),
        finished: time(r.get("finished")?),
    })
}

impl Records {
    /// Open the container table in the store database under `store_root`.
    pub fn open(store_root: &Path) -> Result<Records> {
        // The table is made by the store's migrations (berth_image_store::db).
        let conn =
            berth_image_store::db::open(&store_root.join(berth_image_store::layout::DATABASE))?;
        Ok(Records { conn })
    }

    /// Insert a new record (state `created`); a taken name is refused naming its owner.
    pub fn insert(&self, c: &NewContainer<'_>) -> Result<()> {
        if let Some(other) = self.find_exact(c.name)? {
            return Err(RunError::NameInUse {
                name: c.name.to_string(),
                id: other.id,
            });
        }
        // Pretty, as `config.json` is written.
        let spec =
            serde_json::to_string_pretty(c.spec).map_err(|e| RunError::Spec(e.to_string()))?;
        let image_id = c.image_id.map(ToString::to_string).unwrap_or_default();
        let res = self.conn.execute(
            "INSERT INTO containers (id, name, image_id, image_name, snapshot, command, options,
                 spec, runtime, auto_remove, labels, created, state)
             VALUES (?1, ?2, ?3, ?4, ?1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'created')",
            params![
                c.id,
                c.name,
                image_id,
                c.image_name,
                to_json(c.command),
                to_json(c.options),
                spec,
                c.runtime,
                c.auto_remove,
                to_json(c.labels),
                now()
            ],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let id = self
                    .find_exact(c.name)?
                    .map(|o| o.id)
                    .unwrap_or_else(|| "another container".to_string());
                Err(RunError::NameInUse {
                    name: c.name.to_string(),
                    id,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a name is taken.
    pub fn name_taken(&self, name: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM containers WHERE name = ?1", [name], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Rename container `id` to `name`; `false` when another container has that name (the
    /// column is unique, so two renames cannot both take it).
    pub fn set_name(&self, id: &str, name: &str) -> Result<bool> {
        match self.conn.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, name],
        ) {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn find_exact(&self, name_or_id: &str) -> Result<Option<Container>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM containers WHERE id = ?1 OR name = ?1",
                [name_or_id],
                from_row,
            )
            .optional()?)
    }

    /// Find by full id, name, or unique id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Container> {
        if let Some(c) = self.find_exact(name_or_id)? {
            return Ok(c);
        }
        let hex = !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            let mut st = self
                .conn
                .prepare("SELECT * FROM containers WHERE id LIKE ?1 || '%'")?;
            let found = st
                .query_map([name_or_id], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            match found.len() {
                1 => return Ok(found.into_iter().next().expect("one row")),
                0 => {}
                n => {
                    return Err(RunError::Invalid(format!(
                        "container id prefix {name_or_id:?} is ambiguous ({n} containers)"
                    )))
                }
            }
        }
        Err(RunError::NoSuchContainer(name_or_id.to_string()))
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<Container>> {
        let mut st = self
            .conn
            .prepare("SELECT * FROM containers ORDER BY created DESC")?;
        let rows = st
            .query_map([], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Record that the container runs as `pid` under monitor `monitor_pid`.
    pub fn set_running(&self, id: &str, pid: u32, monitor_pid: u32) -> Result<()> {
        self.set_process(id, State::Running, pid, monitor_pid, Some(now()))
    }

    /// Record that the container was made in the runtime as `pid` under monitor
    /// `monitor_pid`, waiting for its start (`init`).
    pub fn set_initialized(&self, id: &str, pid: u32, monitor_pid: u32) -> Result<()> {
        self.set_process(id, State::Initialized, pid, monitor_pid, None)
    }

    /// The container's process and monitor in `state`; `started` (a start) also clears
    /// the last finish.
    fn set_process(
        &self,
        id: &str,
        state: State,
        pid: u32,
        monitor_pid: u32,
        started: Option<String>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET state = ?7, pid = ?2, pid_start = ?3,
                 monitor_pid = ?4, monitor_start = ?5, exit_code = NULL, error = NULL,
                 started = COALESCE(?6, started),
                 finished = CASE WHEN ?6 IS NULL THEN finished ELSE NULL END
             WHERE id = ?1",
            params![
                id,
                pid,
                proc_start_time(pid).map(|v| v as i64),
                monitor_pid,
                proc_start_time(monitor_pid).map(|v| v as i64),
                started,
                state.as_str()
            ],
        )?;
        Ok(())
    }

    /// Replace a container's options (`network connect`/`disconnect` change its networks).
    pub fn set_options(&self, id: &str, options: &RunOptions) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET options = ?2 WHERE id = ?1",
            params![id, to_json(options)],
        )?;
        Ok(())
    }

    /// Record the monitor of a container that is being started (forgetting a previous run's
    /// exit, so waiters see this run).
    pub fn set_monitor(&self, id: &str, monitor_pid: u32) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET state = 'created', monitor_pid = ?2, monitor_start = ?3,
                 error = NULL, exit_code = NULL, pid = NULL, finished = NULL
             WHERE id = ?1",
            params![
                id,
                monitor_pid,
                proc_start_time(monitor_pid).map(|v| v as i64)
            ],
        )?;
        Ok(())
    }

    /// Clear the last run's exit before a new start: the container is `created`, without a
    /// monitor, until its new monitor records itself.
    pub fn set_starting(&self, id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET state = 'created', monitor_pid = NULL, monitor_start = NULL,
                 error = NULL, exit_code = NULL, pid = NULL, finished = NULL
             WHERE id = ?1",
            params![id],
        )?;
        Ok(())
    }

    /// Record that starting failed: the container stays `created`, with the error.
    pub fn set_start_error(&self, id: &str, error: &str, code: i32) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET state = 'created', error = ?2, exit_code = ?3, pid = NULL,
                 monitor_pid = NULL WHERE id = ?1",
            params![id, error, code],
        )?;
        Ok(())
    }

    /// Record the exit (`code` is `None` when nobody saw it).
    pub fn set_exited(&self, id: &str, code: Option<i32>, error: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET state = 'exited', exit_code = ?2, error = ?3, finished = ?4,
                 pid = NULL, monitor_pid = NULL
             WHERE id = ?1 AND state != 'exited'",
            params![id, code, error, now()],
        )?;
        Ok(())
    }

    /// Record an exit its monitor follows with a restart (`--restart`): as
    /// [`Records::set_exited`], but the monitor stays recorded, so nobody takes the exit for
    /// the last one.
    pub fn set_exited_restarting(&self, id: &str, code: Option<i32>) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET state = 'exited', exit_code = ?2, error = NULL, finished = ?3,
                 pid = NULL
             WHERE id = ?1",
            params![id, code, now()],
        )?;
        Ok(())
    }

    /// A monitor that recorded an exit for a restart ([`Records::set_exited_restarting`])
    /// and then did not restart (the user's stop came first): it is no longer the record's.
    pub fn clear_exited_monitor(&self, id: &str, monitor_pid: u32) -> Result<()> {
        self.conn.execute(
            "UPDATE containers SET monitor_pid = NULL, monitor_start = NULL
             WHERE id = ?1 AND state = 'exited' AND monitor_pid = ?2",
            params![id, monitor_pid],
        )?;
        Ok(())
    }

    /// Delete the record.
    pub fn delete(&self, id: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM containers WHERE id = ?1", [id])?;
        Ok(())
    }
}

/// JSON text of a value that always serializes (strings, options).
fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::alive;

    static IMAGE: std::sync::LazyLock<Digest> = std::sync::LazyLock::new(|| {
        Digest::from_str(&format!("sha256:{}", "0".repeat(64))).unwrap()
    });
    static SPEC: std::sync::LazyLock<Spec> = std::sync::LazyLock::new(Spec::default);

    fn new<'a>(id: &'a str, name: &'a str, opts: &'a RunOptions) -> NewContainer<'a> {
        NewContainer {
            id,
            name,
            image_id: Some(&IMAGE),
            image_name: "busybox",
            command: &[],
            options: opts,
            spec: &SPEC,
            runtime: "runc",
            auto_remove: false,
            labels: &[],
        }
    }

    #[test]
    fn records_lifecycle() {
        let d = tempfile::tempdir().unwrap();
        let r = Records::open(d.path()).unwrap();
        let o = RunOptions::default();
        r.insert(&new("abc123", "one", &o)).unwrap();
        let err = r.insert(&new("def456", "one", &o)).unwrap_err();
        assert!(matches!(err, RunError::NameInUse { .. }), "{err}");
        assert!(err.to_string().contains("abc123"));
        assert_eq!(r.get("abc").unwrap().name, "one");
        assert_eq!(r.get("one").unwrap().state, State::Created);
        let me = std::process::id();
        r.set_running("abc123", me, me).unwrap();
        let c = r.get("abc123").unwrap();
        assert_eq!(c.state, State::Running);
        assert!(alive(c.pid, c.pid_start));
        r.set_exited("abc123", Some(3), None).unwrap();
        let c = r.get("one").unwrap();
        assert_eq!((c.state, c.exit_code), (State::Exited, Some(3)));
        r.delete("abc123").unwrap();
        assert!(matches!(r.get("one"), Err(RunError::NoSuchContainer(_))));
    }

    /// `RunOptions` as the first records held them.
    const OLD_OPTIONS: &str = r#"{"entrypoint":null,"command":["sh"],"env":[],"workdir":null,
        "user":null,"hostname":null,"terminal":false,"cap_add":[],"cap_drop":[],
        "privileged":false,"no_new_privileges":false,"volumes":["/a:/b:ro"],"tmpfs":[],
        "network":"None","read_only":false,"annotations":[]}"#;

    /// A record as the code before typed records wrote it (ids, spec and options as text)
    /// loads typed, and is written back the same.
    #[test]
    fn records_written_as_text_load() {
        let d = tempfile::tempdir().unwrap();
        let r = Records::open(d.path()).unwrap();
        let spec = serde_json::to_string_pretty(&Spec::default()).unwrap();
        for (id, image_id) in [("a1", IMAGE.to_string()), ("b2", String::new())] {
            r.conn
                .execute(
                    "INSERT INTO containers (id, name, image_id, image_name, snapshot, command,
                         options, spec, runtime, auto_remove, labels, created, state)
                     VALUES (?1, ?1, ?2, 'busybox', ?1, '[\"sh\"]', ?3, ?4, 'runc', 0, '[]',
                         '2026-01-01T00:00:00Z', 'created')",
                    params![id, image_id, OLD_OPTIONS, spec],
                )
                .unwrap();
        }
        let a = r.get("a1").unwrap();
        assert_eq!(a.image_id.as_ref(), Some(&*IMAGE));
        assert_eq!(a.image_id_hex(), "0".repeat(64));
        assert_eq!(a.spec.get().unwrap(), &Spec::default());
        assert_eq!(a.options.volumes[0].to_string(), "/a:/b:ro");
        let b = r.get("b2").unwrap();
        assert_eq!((b.image_id.as_ref(), b.image_id_hex()), (None, ""));
        assert_eq!(serde_json::to_value(&b).unwrap()["image_id"], "");
        assert_eq!(
            serde_json::to_value(&a).unwrap()["image_id"],
            IMAGE.to_string()
        );
        // Written back: the same column contents (the spec's pretty JSON text; its capability
        // sets have no order of their own).
        r.insert(&NewContainer {
            options: &a.options,
            ..new("c3", "c3", &a.options)
        })
        .unwrap();
        let (image_id, text): (String, String) = r
            .conn
            .query_row(
                "SELECT image_id, spec FROM containers WHERE id = 'c3'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(image_id, IMAGE.to_string());
        assert!(text.starts_with("{\n  \"ociVersion\""), "{text}");
        assert_eq!(
            serde_json::from_str::<Spec>(&text).unwrap(),
            Spec::default()
        );
    }

    /// A list reads no spec: a record whose spec text is damaged still lists, and the
    /// damage is an error only where the spec is used.
    #[test]
    fn list_parses_no_spec() {
        let d = tempfile::tempdir().unwrap();
        let r = Records::open(d.path()).unwrap();
        let o = RunOptions::default();
        r.insert(&new("d1", "d1", &o)).unwrap();
        r.conn
            .execute(
                "UPDATE containers SET spec = '{not json' WHERE id = 'd1'",
                [],
            )
            .unwrap();
        let listed = r.list().unwrap();
        assert_eq!(listed.len(), 1);
        let err = listed[0].spec.get().unwrap_err().to_string();
        assert!(err.contains("the stored spec"), "{err}");
    }
}
