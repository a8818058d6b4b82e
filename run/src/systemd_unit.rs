//! `generate systemd`: a systemd unit for a container, as Podman 4.3 writes it (its keys,
//! its `TimeoutStopSec` of the stop timeout plus 60 s, its `Restart=on-failure` default),
//! with berth's binary and global flags in the commands. Without `--new` the unit starts and
//! stops the existing container (`Type=forking`, the monitor's pid file, as Podman's
//! conmon pid file); with `--new` it runs the command line that created the container again
//! (`run -d --rm`, its `--restart` left to systemd), so each start makes a new container
//! and each stop removes it. Podman's `--cidfile` and `--replace` become the container's
//! name: berth's unit removes a container left by the last run before it starts one.

use std::path::PathBuf;

use crate::container::Container;
use crate::error::{Result, RunError};

/// systemd's `Restart=` values (Podman's list).
const RESTART_POLICIES: [&str; 7] = [
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// What the unit is made with.
#[derive(Debug, Clone)]
pub struct UnitOptions {
    /// `--new`.
    pub new: bool,
    /// `--name`: the container's name instead of its id.
    pub use_name: bool,
    /// `--restart-policy` (default `on-failure`).
    pub restart_policy: String,
    /// `--time`: stop timeout in seconds (default: the container's, 10).
    pub stop_timeout: Option<u32>,
    /// `--container-prefix` (default `container`) and `--separator` (default `-`).
    pub prefix: String,
    pub separator: String,
    /// berth's binary.
    pub berth: PathBuf,
    /// The global flags every command in the unit gets (`--root`, `--runroot`).
    pub global_args: Vec<String>,
    /// The run root (`RequiresMountsFor`).
    pub runroot: PathBuf,
    /// The monitor's pid file (`PIDFile`, without `--new`).
    pub pid_file: PathBuf,
    /// The header: who wrote it and when.
    pub generator: String,
    pub date: String,
}

/// A unit: its file name (`container-NAME.service`) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    pub text: String,
}

/// One word of an `Exec*=` line: as is when plain, else double-quoted (systemd's quoting);
/// `%` and `$` doubled so systemd neither expands specifiers nor variables in it.
pub fn exec_word(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && escaped
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

fn line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| exec_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `run` command line of `--new`: the create command with `run -d --rm --name NAME`,
/// without the flags the unit owns (`-d`, `--rm`, `--restart`, `--name`) and with berth's
/// binary first.
fn new_command(c: &Container, o: &UnitOptions) -> Result<Vec<String>> {
    let cmd = &c.options.create_command;
    // The subcommand: the first `run` or `create` word (after `container`, if any).
    let at = cmd
        .iter()
        .position(|w| w == "run" || w == "create")
        .ok_or_else(|| {
            RunError::FailedPrecondition(format!(
                "container {} has no create command (it was not made by the berth CLI): \
             generate systemd --new needs one",
                c.name
            ))
        })?;
    let mut out = vec![o.berth.display().to_string()];
    out.extend(o.global_args.iter().cloned());
    out.extend(["run", "-d", "--rm", "--name"].map(String::from));
    out.push(c.name.clone());
    // Flags up to the image (a flag given as `--flag VALUE` takes the next word), then the
    // image and its command, verbatim.
    let (mut in_command, mut drop_value, mut keep_value) = (false, false, false);
    for w in &cmd[at + 1..] {
        if in_command || keep_value {
            keep_value = false;
            out.push(w.clone());
            continue;
        }
        if drop_value {
            drop_value = false;
            continue;
        }
        match w.as_str() {
            "-d" | "--detach" | "--rm" | "--detach=true" | "--rm=true" => {}
            "--restart" | "--name" => drop_value = true,
            "--" => {
                out.push(w.clone());
                in_command = true;
            }
            s if s.starts_with("--restart=") || s.starts_with("--name=") => {}
            s if s.starts_with('-') => {
                out.push(w.clone());
                keep_value = !s.contains('=') && takes_value(s);
            }
            _ => {
                out.push(w.clone());
                in_command = true;
            }
        }
    }
    Ok(out)
}

/// `run`/`create` flags that take no value (every other flag given without `=` takes the
/// next word).
fn takes_value(flag: &str) -> bool {
    const SWITCHES: &[&str] = &[
        "-d",
        "--detach",
        "--rm",
        "-i",
        "--interactive",
        "-t",
        "--tty",
        "-it",
        "-ti",
        "--init",
        "--read-only",
        "--privileged",
        "-P",
        "--publish-all",
        "--no-hosts",
        "--rootfs",
        "--no-healthcheck",
        "--read-only-tmpfs",
        "--tls-verify",
    ];
    !SWITCHES.contains(&flag)
}

/// The unit for `c`.
pub fn unit(c: &Container, o: &UnitOptions) -> Result<Unit> {
    if !RESTART_POLICIES.contains(&o.restart_policy.as_str()) {
        return Err(RunError::Invalid(format!(
            "{} is not a valid restart policy",
            o.restart_policy
        )));
    }
    let ident = if o.use_name || o.new { &c.name } else { &c.id };
    let name = format!("{}{}{}.service", o.prefix, o.separator, ident);
    let timeout = o.stop_timeout.unwrap_or(10);
    let berth = |args: &[&str]| {
        let mut v = vec![o.berth.display().to_string()];
        v.extend(o.global_args.iter().cloned());
        v.extend(args.iter().map(|s| s.to_string()));
        line(&v)
    };
    let t = timeout.to_string();
    let mut s = format!(
        "# {name}\n# autogenerated by {}\n# {}\n\n",
        o.generator, o.date
    );
    s += "[Unit]\n";
    s += &format!("Description=berth {name}\n");
    s += "Wants=network-online.target\nAfter=network-online.target\n";
    if o.new {
        s += "RequiresMountsFor=%t/containers\n";
    } else {
        s += &format!(
            "RequiresMountsFor={}\n",
            exec_word(&o.runroot.display().to_string())
        );
    }
    s += "\n[Service]\n";
    s += "Environment=BERTH_SYSTEMD_UNIT=%n\n";
    s += &format!("Restart={}\n", o.restart_policy);
    if o.new {
        s += &format!("TimeoutStopSec={}\n", timeout + 60);
        s += &format!("ExecStartPre=-{}\n", berth(&["rm", "-f", &c.name]));
        s += &format!("ExecStart={}\n", line(&new_command(c, o)?));
        s += &format!("ExecStop={}\n", berth(&["stop", "-t", &t, &c.name]));
        s += &format!("ExecStopPost=-{}\n", berth(&["rm", "-f", &c.name]));
        s += "Type=forking\n";
    } else {
        s += &format!("TimeoutStopSec={}\n", timeout + 60);
        s += &format!("ExecStart={}\n", berth(&["start", ident]));
        s += &format!("ExecStop={}\n", berth(&["stop", "-t", &t, ident]));
        s += &format!("ExecStopPost={}\n", berth(&["stop", "-t", &t, ident]));
        s += &format!("PIDFile={}\n", exec_word(&o.pid_file.display().to_string()));
        s += "Type=forking\n";
    }
    s += "\n[Install]\nWantedBy=default.target\n";
    Ok(Unit { name, text: s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::State;

    fn options(new: bool) -> UnitOptions {
        UnitOptions {
            new,
            use_name: false,
            restart_policy: "on-failure".into(),
            stop_timeout: None,
            prefix: "container".into(),
            separator: "-".into(),
            berth: "/usr/local/bin/berth".into(),
            global_args: vec!["--root".into(), "/var/lib/b".into()],
            runroot: "/run/berth".into(),
            pid_file: "/run/berth/containers/x/monitor.pid".into(),
            generator: "berth test".into(),
            date: "today".into(),
        }
    }

    #[test]
    fn an_existing_container_is_started_and_stopped() {
        let c = crate::testutil::container(State::Running);
        let u = unit(&c, &options(false)).unwrap();
        assert_eq!(u.name, format!("container-{}.service", c.id));
        assert!(u.text.contains(&format!(
            "\nExecStart=/usr/local/bin/berth --root /var/lib/b start {}\n",
            c.id
        )));
        assert!(u.text.contains("\nTimeoutStopSec=70\n"));
        assert!(u.text.contains("\nRestart=on-failure\n"));
        assert!(u.text.contains("\nType=forking\n"));
        let mut o = options(false);
        o.restart_policy = "sometimes".into();
        assert_eq!(
            unit(&c, &o).unwrap_err().to_string(),
            "sometimes is not a valid restart policy"
        );
    }

    #[test]
    fn new_runs_the_create_command_again_without_the_flags_the_unit_owns() {
        let mut c = crate::testutil::container(State::Running);
        c.options.create_command = [
            "berth",
            "--root",
            "/x",
            "run",
            "-d",
            "--restart",
            "always",
            "--name",
            "web",
            "-e",
            "A=b c",
            "--rm",
            "bb",
            "sh",
            "-c",
            "echo 100% $HOME",
        ]
        .map(String::from)
        .to_vec();
        let mut o = options(true);
        o.stop_timeout = Some(5);
        let u = unit(&c, &o).unwrap();
        assert_eq!(u.name, format!("container-{}.service", c.name));
        let start = u
            .text
            .lines()
            .find(|l| l.starts_with("ExecStart="))
            .unwrap();
        assert_eq!(
            start,
            format!(
                "ExecStart=/usr/local/bin/berth --root /var/lib/b run -d --rm --name {} -e \
                 \"A=b c\" bb sh -c \"echo 100%% $$HOME\"",
                c.name
            )
        );
        assert!(u.text.contains("\nTimeoutStopSec=65\n"));
        assert!(u.text.contains(&format!(
            "\nExecStop=/usr/local/bin/berth --root /var/lib/b stop -t 5 {}\n",
            c.name
        )));
        c.options.create_command.clear();
        assert!(unit(&c, &o).is_err());
    }
}
