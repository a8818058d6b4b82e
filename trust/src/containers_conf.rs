//! containers.conf, as the containers tools find it (containers/common's `containers.conf(5)`):
//! `$CONTAINERS_CONF` alone when it is set; else `/usr/share/containers/containers.conf`,
//! `/etc/containers/containers.conf`, `/etc/containers/containers.conf.d/*.conf` and, for a
//! rootless user, `~/.config/containers/containers.conf` and its `.d`, each file read in that
//! order overriding the keys the earlier ones set (`.d` files in name order; only names ending
//! in `.conf`). A missing file is skipped; a malformed one is an error naming the file and line.
//!
//! Typed for the keys berth uses ([`ContainersConf`]); every other key is ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config_dir;

/// The environment variable naming the one containers.conf to read.
pub const ENV: &str = "CONTAINERS_CONF";
/// The distribution's defaults, read first.
pub const VENDOR_PATH: &str = "/usr/share/containers/containers.conf";
const FILE: &str = "containers.conf";

/// A containers.conf that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// The file exists but could not be read (or `$CONTAINERS_CONF` names none).
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key berth uses has the wrong type.
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// The settings berth takes from containers.conf (all files merged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainersConf {
    /// `[engine] detach_keys`: the default of `--detach-keys`.
    pub detach_keys: Option<String>,
    /// `[engine] events_logfile_path`: the event log (default: under the run root).
    pub events_logfile_path: Option<PathBuf>,
    /// `[engine] events_logfile_max_size` in bytes (`"1m"`, `"3g"`, `1000`; default 1 MB, 0 for
    /// no limit).
    pub events_logfile_max_size: Option<u64>,
    /// `[engine] events_logger`: `none` writes no event; berth writes the file for any other
    /// value (`file`, and `journald`, Podman's default, which berth does not have).
    pub events_logger: Option<String>,
    /// `[containers] default_ulimits` (`["nofile=1024:2048"]`): the default of `--ulimit`.
    pub default_ulimits: Option<Vec<String>>,
}

/// One file's keys, as far as berth reads them.
#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    engine: Engine,
    #[serde(default)]
    containers: Containers,
}

#[derive(Debug, Default, Deserialize)]
struct Containers {
    default_ulimits: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct Engine {
    detach_keys: Option<String>,
    events_logfile_path: Option<PathBuf>,
    events_logfile_max_size: Option<Size>,
    events_logger: Option<String>,
}

/// A size as containers/common reads it: bytes, or a number with `b`, `k`, `m` or `g`
/// (decimal units, as `units.FromHumanSize`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    fn bytes(&self) -> Option<u64> {
        let text = match self {
            Size::Bytes(n) => return Some(*n),
            Size::Text(t) => t.trim().to_ascii_lowercase(),
        };
        let text = text
            .strip_suffix("ib")
            .or(text.strip_suffix('b'))
            .unwrap_or(&text);
        let (num, scale) = match text.chars().last()? {
            'k' => (&text[..text.len() - 1], 1e3),
            'm' => (&text[..text.len() - 1], 1e6),
            'g' => (&text[..text.len() - 1], 1e9),
            't' => (&text[..text.len() - 1], 1e12),
            _ => (text, 1.0),
        };
        let n: f64 = num.trim().parse().ok()?;
        (n >= 0.0).then_some((n * scale) as u64)
    }
}

impl ContainersConf {
    /// Read every containers.conf this process would (see the module doc).
    pub fn load() -> Result<ContainersConf, ConfError> {
        let rootless = effective_uid() != 0;
        let env = std::env::var_os(ENV).map(PathBuf::from);
        if let Some(path) = &env {
            // containers/common: a `$CONTAINERS_CONF` that does not exist is an error.
            if let Err(source) = std::fs::metadata(path) {
                return Err(ConfError::Read {
                    path: path.clone(),
                    source,
                });
            }
        }
        let files = search_path(env, rootless, config_dir::user_dir());
        ContainersConf::from_files(&files)
    }

    /// Read `files` in order, later keys overriding earlier ones; missing files are skipped.
    pub fn from_files(files: &[PathBuf]) -> Result<ContainersConf, ConfError> {
        let mut conf = ContainersConf::default();
        for path in files {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(ConfError::Read {
                        path: path.clone(),
                        source,
                    })
                }
            };
            let file = parse(path, &text)?;
            if file.engine.detach_keys.is_some() {
                conf.detach_keys = file.engine.detach_keys;
            }
            if file.containers.default_ulimits.is_some() {
                conf.default_ulimits = file.containers.default_ulimits;
            }
            if file.engine.events_logger.is_some() {
                conf.events_logger = file.engine.events_logger;
            }
            if file.engine.events_logfile_path.is_some() {
                conf.events_logfile_path = file.engine.events_logfile_path;
            }
            if let Some(size) = &file.engine.events_logfile_max_size {
                let bytes = size.bytes().ok_or_else(|| ConfError::Invalid {
                    path: path.clone(),
                    line: 1,
                    message: format!("events_logfile_max_size: invalid size {size:?}"),
                })?;
                conf.events_logfile_max_size = Some(bytes);
            }
        }
        Ok(conf)
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

fn parse(path: &Path, text: &str) -> Result<File, ConfError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        ConfError::Invalid {
            path: path.to_path_buf(),
            line,
            message: e.message().replace('\n', " "),
        }
    })
}

/// The files to read, in order: `env` alone when set; else the vendor file, the system
/// file and its `.d`, and (when `rootless`) the user's file in `user_dir` and its `.d`.
fn search_path(env: Option<PathBuf>, rootless: bool, user_dir: Option<PathBuf>) -> Vec<PathBuf> {
    if let Some(path) = env {
        return vec![path];
    }
    let mut files = vec![PathBuf::from(VENDOR_PATH)];
    let mut with_d = |file: PathBuf| {
        let mut d = file.clone().into_os_string();
        d.push(".d");
        files.push(file);
        files.extend(conf_d(Path::new(&d)));
    };
    with_d(config_dir::system_path(FILE));
    if rootless {
        if let Some(dir) = user_dir {
            with_d(dir.join(FILE));
        }
    }
    files
}

/// `dir`'s `*.conf` files in name order (none when it cannot be read).
fn conf_d(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_log_size_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.conf");
        std::fs::write(
            &a,
            "[engine]\nevents_logfile_max_size = \"2m\"\nevents_logfile_path = \"/x/e.log\"\n",
        )
        .unwrap();
        let conf = ContainersConf::from_files(std::slice::from_ref(&a)).unwrap();
        assert_eq!(conf.events_logfile_max_size, Some(2_000_000));
        assert_eq!(conf.events_logfile_path, Some(PathBuf::from("/x/e.log")));
        std::fs::write(&a, "[engine]\nevents_logfile_max_size = 0\n").unwrap();
        let conf = ContainersConf::from_files(std::slice::from_ref(&a)).unwrap();
        assert_eq!(conf.events_logfile_max_size, Some(0));
        std::fs::write(&a, "[engine]\nevents_logfile_max_size = \"lots\"\n").unwrap();
        assert!(ContainersConf::from_files(&[a]).is_err());
    }

    #[test]
    fn later_files_override_earlier_ones_key_by_key() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.conf");
        let b = d.path().join("b.conf");
        let c = d.path().join("c.conf");
        std::fs::write(
            &a,
            "[engine]\ndetach_keys = \"ctrl-a\"\n[containers]\nx = 1\n",
        )
        .unwrap();
        std::fs::write(&b, "[engine]\nevents_logger = \"file\"\n").unwrap();
        std::fs::write(
            &c,
            "[engine]\ndetach_keys = \"\"\n[containers]\ndefault_ulimits = [\"nofile=1024:1024\"]\n",
        )
        .unwrap();
        let missing = d.path().join("missing.conf");
        let conf = ContainersConf::from_files(&[a.clone(), b.clone(), missing]).unwrap();
        assert_eq!(conf.detach_keys.as_deref(), Some("ctrl-a"));
        assert_eq!(conf.default_ulimits, None);
        let conf = ContainersConf::from_files(&[a, b, c]).unwrap();
        assert_eq!(conf.detach_keys.as_deref(), Some(""));
        assert_eq!(
            conf.default_ulimits,
            Some(vec!["nofile=1024:1024".to_string()])
        );
        assert_eq!(ContainersConf::from_files(&[]).unwrap(), Default::default());
    }

    #[test]
    fn a_malformed_file_is_named_with_its_line() {
        let d = tempfile::tempdir().unwrap();
        let bad = d.path().join("bad.conf");
        std::fs::write(&bad, "[engine]\n\ndetach_keys = ctrl-a\n").unwrap();
        let err = ContainersConf::from_files(std::slice::from_ref(&bad))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("{}:3: ", bad.display())), "{err}");
        assert!(!err.contains('\n'), "{err}");
        std::fs::write(&bad, "[engine]\ndetach_keys = 3\n").unwrap();
        let err = ContainersConf::from_files(std::slice::from_ref(&bad))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("{}:2: ", bad.display())), "{err}");
    }

    #[test]
    fn the_search_path_is_containers_commons() {
        let d = tempfile::tempdir().unwrap();
        let user = d.path().join("user");
        std::fs::create_dir_all(user.join("containers.conf.d")).unwrap();
        for name in ["b.conf", "a.conf", "c.txt"] {
            std::fs::write(user.join("containers.conf.d").join(name), "").unwrap();
        }
        let env = d.path().join("only.conf");
        assert_eq!(
            search_path(Some(env.clone()), true, Some(user.clone())),
            [env]
        );
        let root = search_path(None, false, Some(user.clone()));
        assert_eq!(root[0], Path::new(VENDOR_PATH));
        assert_eq!(root[1], Path::new("/etc/containers/containers.conf"));
        assert!(!root.iter().any(|p| p.starts_with(&user)), "{root:?}");
        let rootless = search_path(None, true, Some(user.clone()));
        assert_eq!(
            rootless[rootless.len() - 3..],
            [
                user.join("containers.conf"),
                user.join("containers.conf.d/a.conf"),
                user.join("containers.conf.d/b.conf"),
            ]
        );
    }
}
