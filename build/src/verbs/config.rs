//! `config`: a working container's image config changed as Buildah's `config` flags change it
//! (each value as Buildah reads it: `--cmd` as JSON or words, `--entrypoint` as JSON or a
//! shell command, `KEY-` removes an `--env`/`--label`/`--annotation`, a trailing `-` a
//! `--port`/`--volume`). HEALTHCHECK, ONBUILD and SHELL are Docker's fields
//! ([`crate::extras`]); an OCI commit keeps them too (Buildah drops them with a warning).

use std::collections::HashMap;

use berth_image_store::import::shell_words;
use berth_image_store::Store;
use oci_spec::image::{Arch, Os};

use super::go_expand;
use super::record::{Records, WorkingContainer};
use crate::ast::CommandForm;
use crate::error::{BuildError, Result};
use crate::metadata::set_env;

/// Every `config` flag (`None`/empty: not given).
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    pub cmd: Option<String>,
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub labels: Vec<String>,
    pub ports: Vec<String>,
    pub user: Option<String>,
    pub workingdir: Option<String>,
    pub volumes: Vec<String>,
    pub author: Option<String>,
    pub created_by: Option<String>,
    pub history_comment: Option<String>,
    pub annotations: Vec<String>,
    pub healthcheck: Option<String>,
    pub healthcheck_interval: Option<String>,
    pub healthcheck_timeout: Option<String>,
    pub healthcheck_start_period: Option<String>,
    pub healthcheck_retries: Option<String>,
    pub onbuild: Vec<String>,
    pub shell: Option<String>,
    pub stop_signal: Option<String>,
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
}

/// Apply `opts` to working container `name` and save it.
pub fn config(store: &Store, name: &str, opts: &ConfigOptions) -> Result<WorkingContainer> {
    let records = Records::new(store);
    let _lock = records.lock()?;
    let mut c = records.find(name)?;
    apply(store, &mut c, opts)?;
    records.save(&c)?;
    Ok(c)
}

fn invalid(flag: &str, value: &str, why: &str) -> BuildError {
    BuildError::Invalid(format!("--{flag} {value:?}: {why}"))
}

fn apply(store: &Store, c: &mut WorkingContainer, opts: &ConfigOptions) -> Result<()> {
    let mut state = c.state(store)?;
    let mut inner = state.inner();
    if let Some(v) = &opts.cmd {
        inner.set_cmd(command(v, "cmd")?);
    }
    if let Some(v) = &opts.entrypoint {
        let e = match v.trim() {
            "" => None,
            t if t.starts_with('[') => Some(json_words(v, "entrypoint")?),
            t => Some(vec!["/bin/sh".into(), "-c".into(), t.to_string()]),
        };
        inner.set_entrypoint(e);
    }
    if !opts.env.is_empty() {
        let mut env = inner.env().clone().unwrap_or_default();
        for e in &opts.env {
            match e.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    let now = env.clone();
                    let lookup = |n: &str| {
                        now.iter()
                            .find_map(|x| x.split_once('=').filter(|(k, _)| *k == n))
                            .map(|(_, v)| v.to_string())
                    };
                    let (v, missing) = go_expand::expand(v, &lookup);
                    for name in missing {
                        // Buildah's words (it logs them and goes on).
                        tracing::error!(
                            "error expanding variable {name:?}: no value set in configuration"
                        );
                    }
                    set_env(&mut env, k, &v)
                }
                None if e.len() > 1 && e.ends_with('-') => {
                    let k = &e[..e.len() - 1];
                    env.retain(|x| x.split_once('=').map_or(x.as_str(), |(n, _)| n) != k);
                }
                _ => return Err(invalid("env", e, "use KEY=VALUE, or KEY- to remove")),
            }
        }
        inner.set_env((!env.is_empty()).then_some(env));
    }
    if !opts.labels.is_empty() {
        let mut labels = inner.labels().clone().unwrap_or_default();
        key_values(&mut labels, &opts.labels, "label")?;
        inner.set_labels(Some(labels));
    }
    if !opts.ports.is_empty() {
        let mut ports = inner.exposed_ports().clone().unwrap_or_default();
        for p in &opts.ports {
            match p.strip_suffix('-') {
                Some(gone) => ports.retain(|x| x != gone),
                None => {
                    check_port(p)?;
                    if !ports.contains(p) {
                        ports.push(p.clone());
                    }
                }
            }
        }
        inner.set_exposed_ports((!ports.is_empty()).then_some(ports));
    }
    if !opts.volumes.is_empty() {
        let mut vols = inner.volumes().clone().unwrap_or_default();
        for v in &opts.volumes {
            match v.strip_suffix('-') {
                Some(gone) => vols.retain(|x| x != gone),
                None if v.starts_with('/') => {
                    if !vols.contains(v) {
                        vols.push(v.clone());
                    }
                }
                None => return Err(invalid("volume", v, "a volume is an absolute path")),
            }
        }
        inner.set_volumes((!vols.is_empty()).then_some(vols));
    }
    if let Some(u) = &opts.user {
        inner.set_user(Some(u.clone()));
    }
    if let Some(w) = &opts.workingdir {
        inner.set_working_dir(Some(w.clone()));
    }
    if let Some(s) = &opts.stop_signal {
        inner.set_stop_signal(Some(s.clone()));
    }
    state.config.set_config(Some(inner));
    if let Some(a) = &opts.author {
        state.config.set_author(Some(a.clone()));
    }
    if let Some(os) = &opts.os {
        state.config.set_os(Os::from(os.as_str()));
    }
    if let Some(arch) = &opts.arch {
        state.config.set_architecture(Arch::from(arch.as_str()));
    }
    if let Some(v) = &opts.variant {
        state.config.set_variant(Some(v.clone()));
    }
    healthcheck(&mut state.extras, opts)?;
    if !opts.onbuild.is_empty() {
        let mut all = state.extras.onbuild();
        all.extend(opts.onbuild.iter().cloned());
        state.extras.set_onbuild(all);
    }
    if let Some(s) = &opts.shell {
        let words = if s.trim_start().starts_with('[') {
            json_words(s, "shell")?
        } else {
            shell_words(s)
        };
        if words.is_empty() {
            return Err(invalid("shell", s, "an empty shell"));
        }
        state.extras.set_shell(&words);
    }
    c.set_config(&state)?;
    if !opts.annotations.is_empty() {
        let mut all: HashMap<String, String> = c.annotations.clone().into_iter().collect();
        key_values(&mut all, &opts.annotations, "annotation")?;
        c.annotations = all.into_iter().collect();
    }
    if let Some(v) = &opts.created_by {
        c.created_by = Some(v.clone());
    }
    if let Some(v) = &opts.history_comment {
        c.comment = Some(v.clone());
    }
    Ok(())
}

/// `--cmd`: a JSON array, or words (empty: no command).
fn command(v: &str, flag: &str) -> Result<Option<Vec<String>>> {
    if v.trim_start().starts_with('[') {
        return json_words(v, flag).map(Some);
    }
    let words = shell_words(v);
    Ok((!words.is_empty()).then_some(words))
}

fn json_words(v: &str, flag: &str) -> Result<Vec<String>> {
    serde_json::from_str::<Vec<String>>(v)
        .map_err(|e| invalid(flag, v, &format!("not a JSON array of strings: {e}")))
}

/// `KEY=VALUE` sets, `KEY-` removes.
fn key_values(map: &mut HashMap<String, String>, values: &[String], flag: &str) -> Result<()> {
    for v in values {
        match v.split_once('=') {
            Some((k, val)) if !k.is_empty() => {
                map.insert(k.to_string(), val.to_string());
            }
            None if v.len() > 1 && v.ends_with('-') => {
                map.remove(&v[..v.len() - 1]);
            }
            _ => return Err(invalid(flag, v, "use KEY=VALUE, or KEY- to remove")),
        }
    }
    Ok(())
}

/// `PORT`, `PORT/PROTO` (tcp, udp, sctp).
fn check_port(p: &str) -> Result<()> {
    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let ok = num.parse::<u16>().is_ok_and(|n| n > 0) && matches!(proto, "tcp" | "udp" | "sctp");
    if ok {
        Ok(())
    } else {
        Err(invalid("port", p, "use PORT or PORT/tcp|udp|sctp"))
    }
}

/// `--healthcheck` (`NONE`, `CMD-SHELL command`, `CMD ["prog", …]` or `CMD prog args`) and
/// its timings (Buildah's defaults: 30 s interval and timeout, 3 retries).
fn healthcheck(extras: &mut crate::extras::Extras, opts: &ConfigOptions) -> Result<()> {
    let Some(v) = &opts.healthcheck else {
        let timing = opts.healthcheck_interval.is_some()
            || opts.healthcheck_timeout.is_some()
            || opts.healthcheck_start_period.is_some()
            || opts.healthcheck_retries.is_some();
        if timing {
            return Err(BuildError::Invalid(
                "--healthcheck-interval, -timeout, -start-period and -retries need --healthcheck"
                    .into(),
            ));
        }
        return Ok(());
    };
    let t = v.trim();
    let form = if t == "NONE" {
        None
    } else if let Some(rest) = t.strip_prefix("CMD-SHELL ") {
        Some(CommandForm::Shell(rest.trim().to_string()))
    } else if let Some(rest) = t.strip_prefix("CMD ") {
        let rest = rest.trim();
        let words = if rest.starts_with('[') {
            json_words(rest, "healthcheck")?
        } else {
            shell_words(rest)
        };
        Some(CommandForm::Exec(words))
    } else {
        return Err(invalid(
            "healthcheck",
            v,
            "use NONE, CMD-SHELL COMMAND or CMD [\"PROG\", \"ARG\"…]",
        ));
    };
    if matches!(&form, Some(CommandForm::Exec(w)) if w.is_empty())
        || matches!(&form, Some(CommandForm::Shell(s)) if s.is_empty())
    {
        return Err(invalid("healthcheck", v, "no command"));
    }
    let mut flags = vec![
        ("interval".to_string(), "30s".to_string()),
        ("timeout".to_string(), "30s".to_string()),
        ("retries".to_string(), "3".to_string()),
    ];
    for (name, value) in [
        ("interval", &opts.healthcheck_interval),
        ("timeout", &opts.healthcheck_timeout),
        ("start-period", &opts.healthcheck_start_period),
        ("retries", &opts.healthcheck_retries),
    ] {
        if let Some(value) = value {
            flags.retain(|(n, _)| n != name);
            flags.push((name.to_string(), value.clone()));
        }
    }
    extras
        .set_healthcheck(form.as_ref(), &flags)
        .map_err(|m| invalid("healthcheck", v, &m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_as_buildah_reads_them() {
        assert_eq!(
            command("/busybox echo hi", "cmd").unwrap().unwrap(),
            ["/busybox", "echo", "hi"]
        );
        assert_eq!(
            command(r#"["a","b c"]"#, "cmd").unwrap().unwrap(),
            ["a", "b c"]
        );
        assert_eq!(command("", "cmd").unwrap(), None);
        assert!(command("[not json", "cmd").is_err());
    }

    #[test]
    fn ports_and_key_values() {
        assert!(check_port("80").is_ok());
        assert!(check_port("53/udp").is_ok());
        assert!(check_port("http").is_err());
        assert!(check_port("80/xyz").is_err());
        let mut m = HashMap::new();
        key_values(&mut m, &["a=1".into(), "b=2".into(), "a-".into()], "label").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m["b"], "2");
        assert!(key_values(&mut m, &["=x".into()], "label").is_err());
    }

    #[test]
    fn malformed_healthchecks_are_refused() {
        let mut extras = crate::extras::Extras::default();
        for bad in ["bogus", "CMD ", "CMD [\"a\"", "CMD-SHELL "] {
            let opts = ConfigOptions {
                healthcheck: Some(bad.to_string()),
                ..ConfigOptions::default()
            };
            assert!(healthcheck(&mut extras, &opts).is_err(), "{bad:?}");
        }
        let opts = ConfigOptions {
            healthcheck: Some("CMD /bin/check -x".to_string()),
            healthcheck_interval: Some("5s".to_string()),
            ..ConfigOptions::default()
        };
        healthcheck(&mut extras, &opts).unwrap();
        let mut v = serde_json::json!({});
        extras.merge_into(&mut v);
        let hc = &v["config"]["Healthcheck"];
        assert_eq!(hc["Test"], serde_json::json!(["CMD", "/bin/check", "-x"]));
        assert_eq!(hc["Interval"], 5_000_000_000u64);
        assert_eq!(hc["Retries"], 3);
    }
}
