//! The runc-compatible command line of the embedded runtime: `berth oci-runtime [--root DIR]
//! [--log FILE] [--log-format json|text] VERB …` with the verbs berth drives (`create`,
//! `start`, `state`, `kill`, `delete`, `exec`). Errors go to the `--log` file as runc's JSON
//! lines (`{"level":"error","msg":…}`), else to stderr, and the exit code is 1.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;

use crate::executor::ProcessExecutor;
use crate::{verbs, Error, Result};

/// Where container states live when `--root` is not given.
pub const DEFAULT_ROOT: &str = "/run/berth/oci-runtime";

struct Global {
    root: PathBuf,
    log: Option<PathBuf>,
    json: bool,
}

/// Run the command line `args` (the words after `oci-runtime`); returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut words: Vec<String> = Vec::with_capacity(args.len());
    for a in args {
        match a.into_string() {
            Ok(s) => words.push(s),
            Err(a) => {
                eprintln!("berth oci-runtime: argument {a:?} is not UTF-8");
                return 1;
            }
        }
    }
    let mut g = Global {
        root: PathBuf::from(DEFAULT_ROOT),
        log: None,
        json: false,
    };
    let mut it = words.into_iter().peekable();
    while let Some(w) = it.peek().cloned() {
        if !w.starts_with('-') {
            break;
        }
        it.next();
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (w.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next());
        match flag.as_str() {
            "--root" => g.root = value().map(PathBuf::from).unwrap_or(g.root),
            "--log" => g.log = value().map(PathBuf::from),
            "--log-format" => g.json = value().as_deref() == Some("json"),
            "--debug" | "--systemd-cgroup" => {}
            _ => return report(&g, &Error(format!("unknown global flag {w}"))),
        }
    }
    let verb = it.next().unwrap_or_default();
    let rest: Vec<String> = it.collect();
    let result = match verb.as_str() {
        "create" => create(&g, &rest),
        "exec" => exec(&g, &rest),
        "start" => one_id(&rest).and_then(|id| verbs::start_with_hooks(&g.root, &id).map(|_| 0)),
        "state" => one_id(&rest).and_then(|id| print_state(&g.root, &id).map(|_| 0)),
        "kill" => kill(&g, &rest),
        "delete" => delete(&g, &rest),
        "" => Err(Error("no command given".to_string())),
        other => Err(Error(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(&g, &e),
    }
}

/// Write `err` where runc would (the JSON log, else stderr); the exit code 1.
fn report(g: &Global, err: &Error) -> i32 {
    let written = g.log.as_ref().is_some_and(|log| {
        let line = if g.json {
            serde_json::json!({
                "level": "error",
                "msg": err.0,
                "time": chrono::Utc::now().to_rfc3339(),
            })
            .to_string()
        } else {
            format!("error: {}", err.0)
        };
        // Mode 0600 if created (berth leaves an empty 0600 log for it): errors can quote the
        // container's command.
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(log)
            .and_then(|mut f| writeln!(f, "{line}"))
            .is_ok()
    });
    if !written {
        eprintln!("berth oci-runtime: {err}");
    }
    1
}

/// Flags and positional words of a verb: `--flag value`, `--flag=value`, boolean flags.
struct Args {
    values: Vec<(String, String)>,
    switches: Vec<String>,
    positional: Vec<String>,
}

impl Args {
    fn parse(words: &[String], with_value: &[&str], switches: &[&str]) -> Result<Args> {
        let mut a = Args {
            values: Vec::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            i += 1;
            if !a.positional.is_empty() || !w.starts_with('-') || w == "-" {
                a.positional.push(w.clone());
                continue;
            }
            if w == "--" {
                a.positional.extend(words[i..].iter().cloned());
                break;
            }
            let (flag, inline) = match w.split_once('=') {
                Some((f, v)) => (f, Some(v.to_string())),
                None => (w.as_str(), None),
            };
            if with_value.contains(&flag) {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        words
                            .get(i - 1)
                            .cloned()
                            .ok_or_else(|| Error(format!("flag {flag} needs a value")))?
                    }
                };
                a.values.push((flag.to_string(), v));
            } else if switches.contains(&flag) {
                a.switches.push(flag.to_string());
            } else {
                return Err(Error(format!("unknown flag {flag}")));
            }
        }
        Ok(a)
    }

    fn value(&self, names: &[&str]) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(f, _)| names.contains(&f.as_str()))
            .map(|(_, v)| v.as_str())
    }

    fn switch(&self, names: &[&str]) -> bool {
        self.switches.iter().any(|s| names.contains(&s.as_str()))
    }

    fn id(&self) -> Result<String> {
        self.positional
            .first()
            .cloned()
            .ok_or_else(|| Error("no container id given".to_string()))
    }
}

fn one_id(words: &[String]) -> Result<String> {
    Args::parse(words, &[], &[])?.id()
}

fn builder(
    g: &Global,
    id: &str,
    console: Option<&str>,
    pid_file: Option<&str>,
    executor: ProcessExecutor,
) -> Result<ContainerBuilder> {
    std::fs::create_dir_all(&g.root)
        .map_err(|e| Error::chain(&g.root.display().to_string(), &e))?;
    ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_executor(executor)
        .with_root_path(&g.root)
        .and_then(|b| b.with_pid_file(pid_file.map(Path::new)))
        .map(|b| b.with_console_socket(console.map(Path::new)))
        .and_then(|b| b.validate_id())
        .map_err(|e| Error::chain("create", &e))
}

fn create(g: &Global, words: &[String]) -> Result<i32> {
    let a = Args::parse(
        words,
        &[
            "--bundle",
            "-b",
            "--console-socket",
            "--pid-file",
            "--preserve-fds",
        ],
        &["--no-pivot", "--no-new-keyring"],
    )?;
    let id = a.id()?;
    let bundle = a.value(&["--bundle", "-b"]).unwrap_or(".");
    let bundle = std::fs::canonicalize(bundle).map_err(|e| Error::chain(bundle, &e))?;
    let mut b = builder(
        g,
        &id,
        a.value(&["--console-socket"]),
        a.value(&["--pid-file"]),
        ProcessExecutor::bound_to_caller(),
    )?;
    if let Some(n) = a.value(&["--preserve-fds"]) {
        let n: i32 = n
            .parse()
            .map_err(|_| Error(format!("--preserve-fds {n}: not a number")))?;
        b = b.with_preserved_fds(n);
    }
    b.as_init(bundle)
        .with_systemd(false)
        .with_detach(true)
        .with_no_pivot(a.switch(&["--no-pivot"]))
        .build()
        .map(|_| 0)
        .map_err(|e| start_failure(Error::chain("create", &e)))
}

/// runc's wording when the container's command could not be started: `unable to start
/// container process: exec: "x": …`, without libcontainer's layers of context.
fn start_failure(e: Error) -> Error {
    match e.0.find("exec: \"") {
        Some(at) => Error(format!("unable to start container process: {}", &e.0[at..])),
        None => e,
    }
}

fn exec(g: &Global, words: &[String]) -> Result<i32> {
    let a = Args::parse(
        words,
        &["--process", "-p", "--console-socket", "--pid-file", "--cwd"],
        &["--tty", "-t", "--detach", "-d"],
    )?;
    let id = a.id()?;
    if !verbs::exists(&g.root, &id) {
        return Err(Error(format!("container {id} does not exist")));
    }
    let detach = a.switch(&["--detach", "-d"]);
    if !detach {
        // As runc's exec: what this process receives goes to the exec'd one.
        crate::forward::install();
    }
    let pid = builder(
        g,
        &id,
        a.value(&["--console-socket"]),
        a.value(&["--pid-file"]),
        ProcessExecutor::default(),
    )?
    .as_tenant()
    .with_detach(detach)
    .with_cwd(a.value(&["--cwd"]))
    .with_process(a.value(&["--process", "-p"]))
    .with_container_args(a.positional[1..].to_vec())
    .build()
    .map_err(|e| start_failure(Error::chain("exec", &e)))?;
    if detach {
        return Ok(0);
    }
    crate::forward::forward_to(pid.as_raw() as u32);
    wait(pid.as_raw())
}

/// Wait for `pid` (a child) and return its exit code, 128+N when killed by signal N.
fn wait(pid: i32) -> Result<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::chain("wait for the exec'd process", &e));
        }
        if libc::WIFEXITED(status) {
            return Ok(libc::WEXITSTATUS(status));
        }
        if libc::WIFSIGNALED(status) {
            return Ok(128 + libc::WTERMSIG(status));
        }
    }
}

fn print_state(root: &Path, id: &str) -> Result<()> {
    let (status, pid) = verbs::state(root, id)?;
    println!(
        "{}",
        serde_json::json!({"ociVersion": "1.0.2", "id": id, "status": status, "pid": pid})
    );
    Ok(())
}

fn kill(g: &Global, words: &[String]) -> Result<i32> {
    let a = Args::parse(words, &[], &["--all", "-a"])?;
    let id = a.id()?;
    let sig = a.positional.get(1).map(String::as_str).unwrap_or("TERM");
    let signal = match sig.parse::<i32>() {
        Ok(n) => libcontainer::signal::Signal::try_from(n).map_err(|e| Error::chain("kill", &e))?,
        Err(_) => {
            libcontainer::signal::Signal::try_from(sig).map_err(|e| Error::chain("kill", &e))?
        }
    };
    verbs::kill_with(&g.root, &id, signal).map(|_| 0)
}

fn delete(g: &Global, words: &[String]) -> Result<i32> {
    let a = Args::parse(words, &[], &["--force", "-f"])?;
    let id = a.id()?;
    verbs::delete(&g.root, &id, a.switch(&["--force", "-f"])).map(|_| 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn verb_flags_as_runc_spells_them() {
        let a = Args::parse(
            &words("--bundle=/b --pid-file /p --no-pivot id1"),
            &["--bundle", "-b", "--pid-file"],
            &["--no-pivot"],
        )
        .unwrap();
        assert_eq!(a.value(&["--bundle", "-b"]), Some("/b"));
        assert_eq!(a.value(&["--pid-file"]), Some("/p"));
        assert!(a.switch(&["--no-pivot"]));
        assert_eq!(a.id().unwrap(), "id1");
        // After the id everything is the command, flags included.
        let a = Args::parse(&words("-t id2 ls -l"), &[], &["-t"]).unwrap();
        assert_eq!(a.positional, words("id2 ls -l"));
        let err = Args::parse(&words("--bogus id"), &[], &[]).err().unwrap();
        assert_eq!(err.0, "unknown flag --bogus");
        let err = Args::parse(&words("--pid-file"), &["--pid-file"], &[])
            .err()
            .unwrap();
        assert_eq!(err.0, "flag --pid-file needs a value");
        assert!(Args::parse(&[], &[], &[]).unwrap().id().is_err());
    }

    #[test]
    fn errors_go_to_the_json_log_as_runc_writes_them() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("log.json");
        let code = main(
            [
                "--root",
                d.path().to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ]
            .iter()
            .chain(["--log-format", "json", "state", "nosuch"].iter())
            .map(OsString::from)
            .collect(),
        );
        assert_eq!(code, 1);
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
        assert_eq!(line["level"], "error");
        assert_eq!(line["msg"], "container nosuch does not exist");
    }

    #[test]
    fn exec_failures_keep_runcs_words_only() {
        let e = start_failure(Error(
            "create: failed to create container: exec process failed with error error in \
             executing process : exec: \"x\": executable file not found in $PATH"
                .to_string(),
        ));
        assert_eq!(
            e.0,
            "unable to start container process: exec: \"x\": executable file not found in $PATH"
        );
        assert_eq!(start_failure(Error("other".into())).0, "other");
    }
}
