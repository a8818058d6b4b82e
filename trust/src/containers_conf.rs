//! containers.conf, as the containers tools find it (containers/common's `containers.conf(5)`):
//! `$CONTAINERS_CONF` alone when it is set; else `/usr/share/containers/containers.conf`,
//! `/etc/containers/containers.conf`, `/etc/containers/containers.conf.d/*.conf` and, for a
//! rootless user, `~/.config/containers/containers.conf` and its `.d`, each file read in that
//! order overriding the keys the earlier ones set (`.d` files in name order; only names ending
//! in `.conf`), and `$CONTAINERS_CONF_OVERRIDE` last of all (containers/common's later
//! override file). A missing file is skipped; a malformed one is an error naming the file and
//! line.
//!
//! Typed for the keys berth uses ([`ContainersConf`]); every other key is ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config_dir;

/// The environment variable naming the one containers.conf to read.
pub const ENV: &str = "CONTAINERS_CONF";
/// The environment variable naming a containers.conf read last, over all the others.
pub const OVERRIDE_ENV: &str = "CONTAINERS_CONF_OVERRIDE";
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
    /// A setting berth cannot honour (what to do instead is in the text).
    #[error("{0}")]
    Unsupported(String),
}

/// The settings berth takes from containers.conf (all files merged). Each is the default of
/// the `run`/`create` flag of the same meaning; a flag given wins (the CLI applies them:
/// `src/containers/conf_defaults.rs`).
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
    /// `[engine] runtime`: the default of `--runtime` (`crun`, `runc`, `embedded`, a path).
    pub runtime: Option<String>,
    /// `[containers] default_ulimits` (`["nofile=1024:2048"]`): the default of `--ulimit`.
    pub default_ulimits: Option<Vec<String>>,
    /// The `[containers]` keys of `run`/`create` defaults.
    pub containers: ContainerDefaults,
    /// `[network]`.
    pub network: NetworkDefaults,
}

/// `[containers]`: defaults of `run`/`create` (Podman 4.3's containers.conf(5) names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ContainerDefaults {
    /// `env`: `KEY=VALUE`s under the image's and the user's.
    pub env: Option<Vec<String>>,
    /// `default_capabilities`: the capability set before `--cap-add`/`--cap-drop`.
    pub default_capabilities: Option<Vec<String>>,
    /// `default_sysctls`: `KEY=VALUE`s under `--sysctl` (`net.*` left out on the host's
    /// network, as Podman).
    pub default_sysctls: Option<Vec<String>>,
    /// `dns_servers`: the default of `--dns`.
    pub dns_servers: Option<Vec<String>>,
    /// `dns_searches`: the default of `--dns-search`.
    pub dns_searches: Option<Vec<String>>,
    /// `dns_options`: the default of `--dns-option`.
    pub dns_options: Option<Vec<String>>,
    /// `init`: the default of `--init`.
    pub init: Option<bool>,
    /// `log_driver`: the default of `--log-driver`.
    pub log_driver: Option<String>,
    /// `log_size_max` in bytes (-1: no limit): the default of `--log-opt max-size`.
    pub log_size_max: Option<i64>,
    /// `pids_limit` (0 or less: none): the default of `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `shm_size` (`"64m"`): the default of `--shm-size`.
    pub shm_size: Option<String>,
    /// `tz`: the default of `--tz`.
    pub tz: Option<String>,
    /// `umask` (octal text, `"0022"`): the default of `--umask`.
    pub umask: Option<String>,
    /// `no_hosts`: the default of `--no-hosts`.
    pub no_hosts: Option<bool>,
    /// `userns`: the default of `--userns`.
    pub userns: Option<String>,
}

/// `[network]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NetworkDefaults {
    /// `network_backend`: berth has netavark only (`cni` is refused by [`ContainersConf::load`]).
    pub network_backend: Option<String>,
    /// `default_network`: the network of a bridge-mode container without `--network`.
    pub default_network: Option<String>,
    /// `default_subnet`: the default network's subnet (Podman's 10.88.0.0/16).
    pub default_subnet: Option<String>,
}

/// Later files override earlier ones key by key: each `Some` of `later` replaces.
macro_rules! overlay {
    ($into:expr, $from:expr; $($key:ident),* $(,)?) => {
        $( if $from.$key.is_some() { $into.$key = $from.$key; } )*
    };
}

/// One file's keys, as far as berth reads them.
#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    engine: Engine,
    #[serde(default)]
    containers: Containers,
    #[serde(default)]
    network: NetworkDefaults,
}

#[derive(Debug, Default, Deserialize)]
struct Containers {
    default_ulimits: Option<Vec<String>>,
    #[serde(flatten)]
    defaults: ContainerDefaults,
}

#[derive(Debug, Default, Deserialize)]
struct Engine {
    detach_keys: Option<String>,
    events_logfile_path: Option<PathBuf>,
    events_logfile_max_size: Option<Size>,
    events_logger: Option<String>,
    runtime: Option<String>,
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
    /// Read every containers.conf this process would (see the module doc), and refuse what
    /// berth cannot do (`network_backend = "cni"`). `rootless`: the caller is not root on the
    /// host (uid 0 inside berth's user namespace is still rootless: the user's files count).
    pub fn load(rootless: bool) -> Result<ContainersConf, ConfError> {
        let env = std::env::var_os(ENV).map(PathBuf::from);
        let override_file = std::env::var_os(OVERRIDE_ENV).map(PathBuf::from);
        for path in env.iter().chain(&override_file) {
            // containers/common: a `$CONTAINERS_CONF` that does not exist is an error.
            if let Err(source) = std::fs::metadata(path) {
                return Err(ConfError::Read {
                    path: path.clone(),
                    source,
                });
            }
        }
        let mut files = search_path(env, rootless, config_dir::user_dir());
        files.extend(override_file);
        let conf = ContainersConf::from_files(&files)?;
        conf.check()?;
        Ok(conf)
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
            overlay!(conf, file.engine; detach_keys, events_logger, events_logfile_path, runtime);
            overlay!(conf, file.containers; default_ulimits);
            overlay!(conf.containers, file.containers.defaults;
                env, default_capabilities, default_sysctls, dns_servers, dns_searches,
                dns_options, init, log_driver, log_size_max, pids_limit, shm_size, tz, umask,
                no_hosts, userns);
            overlay!(conf.network, file.network; network_backend, default_network, default_subnet);
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

    /// Refuse the settings berth cannot honour, in one line each.
    fn check(&self) -> Result<(), ConfError> {
        match self.network.network_backend.as_deref() {
            None | Some("") | Some("netavark") => Ok(()),
            Some(other) => Err(ConfError::Unsupported(format!(
                "containers.conf: network_backend {other:?} is not supported: berth runs \
                 netavark only (set network_backend = \"netavark\" or remove the key)"
            ))),
        }
    }
}

fn parse(path: &Path, text: &str) -> Result<File, ConfError> {
    parse_toml(path, text)
}

/// `text` (the file `path`) as TOML into `T`; an error names the file and line.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ConfError> {
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
    fn run_defaults_and_the_network_backend() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.conf");
        std::fs::write(
            &a,
            "[containers]\nenv = [\"A=1\"]\ninit = true\nlog_size_max = 4096\n\
             pids_limit = 100\nshm_size = \"1m\"\numask = \"0077\"\nno_hosts = true\n\
             dns_servers = [\"10.0.0.1\"]\ndefault_capabilities = [\"CHOWN\"]\n\
             [engine]\nruntime = \"runc\"\n[network]\nnetwork_backend = \"cni\"\n\
             default_network = \"n1\"\n",
        )
        .unwrap();
        let conf = ContainersConf::from_files(std::slice::from_ref(&a)).unwrap();
        let c = &conf.containers;
        assert_eq!(c.env, Some(vec!["A=1".to_string()]));
        assert_eq!((c.init, c.no_hosts), (Some(true), Some(true)));
        assert_eq!((c.log_size_max, c.pids_limit), (Some(4096), Some(100)));
        assert_eq!(c.umask.as_deref(), Some("0077"));
        assert_eq!(c.default_capabilities, Some(vec!["CHOWN".to_string()]));
        assert_eq!(conf.runtime.as_deref(), Some("runc"));
        assert_eq!(conf.network.default_network.as_deref(), Some("n1"));
        let err = conf.check().unwrap_err().to_string();
        assert!(err.contains("\"cni\" is not supported"), "{err}");
        assert!(!err.contains('\n'), "{err}");
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
