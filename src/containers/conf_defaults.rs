//! containers.conf's `run`/`create` defaults (Podman 4.3's containers.conf(5)), applied to the
//! flags before they are parsed: a flag given wins, a key set fills the flag left out, so a
//! default goes through the flag's own parser and words. The file is read once per command
//! by `berth_trust::containers_conf` (the one reader); what is not a flag's default
//! (`env`, `default_capabilities`, `default_sysctls`) goes into the options as is.

use berth_run::options::limits::parse_sysctl;
use berth_run::{CreateRequest, RunError, RunOptions};
use berth_trust::containers_conf::ContainersConf;

use super::options::CreateArgs;

impl CreateArgs {
    /// The library request for these flags, containers.conf's defaults filling the flags
    /// left out (a containers.conf that cannot be read is refused, as Podman).
    pub fn request(&self) -> Result<CreateRequest, RunError> {
        let conf = load()?;
        let mut args = self.clone();
        fill_flags(&mut args, &conf);
        let mut req = args.request_from_flags()?;
        apply_options(&mut req.options, &conf)?;
        Ok(req)
    }
}

/// The containers.conf this process reads, or the error `run`/`create` refuse with.
fn load() -> Result<ContainersConf, RunError> {
    ContainersConf::load(berth_run::rootless::is_rootless())
        .map_err(|e| RunError::Invalid(e.to_string()))
}

/// containers.conf's `default_ulimits`: the limits of every container `kube play` makes (for
/// `run`, [`fill_flags`] makes them `--ulimit`'s default).
pub(crate) fn default_ulimits() -> Result<Vec<berth_run::options::Ulimit>, RunError> {
    load()?
        .default_ulimits
        .unwrap_or_default()
        .iter()
        .map(|u| berth_run::options::Ulimit::parse(u))
        .collect()
}

/// Fill the flags `args` left out from `conf` (see the module doc).
fn fill_flags(args: &mut CreateArgs, conf: &ContainersConf) {
    let c = &conf.containers;
    let fill = |flag: &mut Vec<String>, key: &Option<Vec<String>>| {
        if flag.is_empty() {
            flag.extend(key.iter().flatten().cloned());
        }
    };
    fill(&mut args.ulimit, &conf.default_ulimits);
    // DNS defaults only where the container writes its own resolv.conf: with no network or
    // another's (`none`, `container:`, a pod's) they would be a conflict the user never asked
    // for (Podman applies them when it writes the file).
    let shares_dns = args.pod.is_some()
        || args
            .network
            .iter()
            .any(|n| n == "none" || n.starts_with("container:") || n.starts_with("ns:"));
    if !shares_dns {
        fill(&mut args.dns, &c.dns_servers);
        fill(&mut args.dns_search, &c.dns_searches);
        fill(&mut args.dns_option, &c.dns_options);
    }
    args.init |= c.init == Some(true);
    args.no_hosts |= c.no_hosts == Some(true) && args.add_host.is_empty();
    or_key(&mut args.log_driver, &c.log_driver);
    if let Some(max) = c.log_size_max.filter(|n| *n > 0) {
        if !args.log_opt.iter().any(|o| o.starts_with("max-size=")) {
            args.log_opt.push(format!("max-size={max}"));
        }
    }
    if args.pids_limit.is_none() {
        args.pids_limit = c.pids_limit.filter(|n| *n > 0);
    }
    or_key(&mut args.shm_size, &c.shm_size);
    or_key(&mut args.umask, &c.umask);
    or_key(&mut args.tz, &c.tz);
    if args.uidmap.is_empty() && args.gidmap.is_empty() {
        or_key(&mut args.userns, &c.userns);
    }
    or_key(&mut args.runtime, &conf.runtime);
    // `default_network` names the network of a bridge-mode container without `--network`
    // (as root: a plain user's default is pasta or slirp4netns, as Podman's).
    if let Some(name) = conf.network.default_network.as_deref() {
        let ours = name.is_empty() || name == berth_network::DEFAULT_NETWORK || name == "podman";
        if args.network.is_empty() && !ours && berth_image_store::store::is_host_root() {
            args.network.push(name.to_string());
        }
    }
}

fn or_key(flag: &mut Option<String>, key: &Option<String>) {
    if flag.is_none() {
        flag.clone_from(key);
    }
}

/// The defaults that are no flag's: `env`, `default_capabilities`, `default_sysctls`.
fn apply_options(options: &mut RunOptions, conf: &ContainersConf) -> Result<(), RunError> {
    let c = &conf.containers;
    options.conf_env = c.env.clone().unwrap_or_default();
    options.default_capabilities = c.default_capabilities.clone();
    options.default_sysctls = c
        .default_sysctls
        .as_ref()
        .map(|list| list.iter().map(|s| parse_sysctl(s)).collect())
        .transpose()?;
    Ok(())
}
