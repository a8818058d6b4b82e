//! Instructions that only change the image config: ENV, LABEL, EXPOSE, VOLUME, USER,
//! WORKDIR (the directory itself is created by the executor), CMD, ENTRYPOINT, STOPSIGNAL.
//! Arguments are expanded by the caller's `x` (the stage's ARG/ENV scope).

use oci_spec::image::Config;

use crate::ast::{CommandForm, Kind};

/// Expand one raw word; errors are messages.
pub type Expand<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// The argv of a CMD/ENTRYPOINT/RUN: the exec form as is, the shell form through `shell`.
pub fn argv(form: &CommandForm, shell: &[String]) -> Vec<String> {
    match form {
        CommandForm::Exec(v) => v.clone(),
        CommandForm::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect(),
    }
}

/// Set `KEY=VALUE` in an env list, replacing an earlier value.
pub fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    env.retain(|e| e.split_once('=').map(|(k, _)| k) != Some(key) && e != key);
    env.push(format!("{key}={value}"));
}

/// `WORKDIR dir` relative to the current one.
pub fn join_workdir(current: Option<&str>, dir: &str) -> String {
    if dir.starts_with('/') {
        return dir.to_string();
    }
    let base = current.filter(|c| !c.is_empty()).unwrap_or("/");
    format!("{}/{dir}", base.trim_end_matches('/'))
}

/// Apply a metadata instruction to `c`. Returns false for kinds this module does not handle.
pub fn apply(c: &mut Config, kind: &Kind, shell: &[String], x: Expand<'_>) -> Result<bool, String> {
    match kind {
        Kind::Env(pairs) => {
            // Every pair expands with the environment from before this instruction.
            let mut values = Vec::new();
            for (k, v) in pairs {
                values.push((x(k)?, x(v)?));
            }
            let mut env = c.env().clone().unwrap_or_default();
            for (k, v) in values {
                set_env(&mut env, &k, &v);
            }
            c.set_env(Some(env));
        }
        Kind::Label(pairs) => {
            let mut labels = c.labels().clone().unwrap_or_default();
            for (k, v) in pairs {
                labels.insert(x(k)?, x(v)?);
            }
            c.set_labels(Some(labels));
        }
        Kind::Expose(ports) => {
            let mut all = c.exposed_ports().clone().unwrap_or_default();
            let mut seen: std::collections::HashSet<String> = all.iter().cloned().collect();
            for p in ports {
                let p = x(p)?;
                let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                let proto = proto.to_ascii_lowercase();
                // A range is every port in it, as Docker records it.
                let (lo, hi) = num.split_once('-').unwrap_or((num, num));
                let range = match (lo.parse::<u16>(), hi.parse::<u16>()) {
                    (Ok(lo), Ok(hi)) if lo <= hi => lo..=hi,
                    _ => return Err(format!("invalid port {p:?}")),
                };
                if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
                    return Err(format!("invalid port {p:?}"));
                }
                for n in range {
                    let port = format!("{n}/{proto}");
                    if seen.insert(port.clone()) {
                        all.push(port);
                    }
                }
            }
            c.set_exposed_ports(Some(all));
        }
        Kind::Volume(vols) => {
            let mut all = c.volumes().clone().unwrap_or_default();
            for v in vols {
                let v = x(v)?;
                if v.is_empty() {
                    return Err("VOLUME: empty path".to_string());
                }
                if !all.contains(&v) {
                    all.push(v);
                }
            }
            c.set_volumes(Some(all));
        }
        Kind::User(u) => {
            c.set_user(Some(x(u)?));
        }
        Kind::Workdir(w) => {
            let dir = join_workdir(c.working_dir().as_deref(), &x(w)?);
            c.set_working_dir(Some(dir));
        }
        Kind::Stopsignal(s) => {
            c.set_stop_signal(Some(x(s)?));
        }
        Kind::Cmd(form) => {
            c.set_cmd(Some(argv(form, shell)));
        }
        Kind::Entrypoint(form) => {
            c.set_entrypoint(Some(argv(form, shell)));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn applied(lines: &str) -> Config {
        let f = parse("Containerfile", &format!("FROM x\n{lines}")).unwrap();
        let mut c = Config::default();
        c.set_env(Some(vec!["PATH=/bin".into()]));
        let sh = vec!["/bin/sh".to_string(), "-c".to_string()];
        for ins in &f.instructions[1..] {
            let env = c.env().clone().unwrap_or_default();
            let lookup = move |n: &str| {
                env.iter()
                    .find_map(|e| e.strip_prefix(&format!("{n}=")).map(str::to_string))
            };
            let x = |w: &str| crate::expand::expand(w, '\\', &lookup);
            assert!(apply(&mut c, &ins.kind, &sh, &x).unwrap());
        }
        c
    }

    #[test]
    fn env_label_workdir() {
        let c = applied(
            "ENV A=1 B=\"two words\"\nENV C=$A-${B} A=2\nLABEL \"k 1\"=v$A\nWORKDIR /a\nWORKDIR b\nCMD echo hi\nEXPOSE 80 53/UDP\n",
        );
        assert_eq!(
            c.env().clone().unwrap(),
            ["PATH=/bin", "B=two words", "C=1-two words", "A=2"]
        );
        assert_eq!(c.labels().clone().unwrap()["k 1"], "v2");
        assert_eq!(c.working_dir().as_deref(), Some("/a/b"));
        assert_eq!(c.cmd().clone().unwrap(), ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(c.exposed_ports().clone().unwrap(), ["80/tcp", "53/udp"]);
    }

    #[test]
    fn bad_port_is_refused() {
        let f = parse("Containerfile", "FROM x\nEXPOSE http\n").unwrap();
        let x = |w: &str| Ok(w.to_string());
        let err = apply(&mut Config::default(), &f.instructions[1].kind, &[], &x).unwrap_err();
        assert!(err.contains("http"));
        let f = parse("Containerfile", "FROM x\nEXPOSE 9-7\n").unwrap();
        assert!(apply(&mut Config::default(), &f.instructions[1].kind, &[], &x).is_err());
    }

    #[test]
    fn port_ranges_are_every_port() {
        let f = parse(
            "Containerfile",
            "FROM x\nEXPOSE 7000-7002 7001 1-65535/udp\n",
        )
        .unwrap();
        let x = |w: &str| Ok(w.to_string());
        let mut c = Config::default();
        apply(&mut c, &f.instructions[1].kind, &[], &x).unwrap();
        let ports = c.exposed_ports().clone().unwrap();
        assert_eq!(ports[..3], ["7000/tcp", "7001/tcp", "7002/tcp"]);
        assert_eq!(ports.len(), 3 + 65535);
    }
}
