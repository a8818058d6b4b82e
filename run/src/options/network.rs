//! The network options as Podman 4.3's CLI takes them: `--network` (repeatable:
//! `host|none|bridge[:OPTS]|private|NAME[:OPTS][,NAME…]|container:ID|ns:PATH|slirp4netns[:OPTS]`,
//! and `pasta[:OPTS]` as Podman 4.4 added it), per-network options (`ip=`, `ip6=`, `mac=`,
//! `alias=`, `interface_name=`), `--ip`/`--mac-address`/`--network-alias` folded into the one
//! network they may name, `--dns`/`--dns-search`/`--dns-option`, `--add-host`, `--no-hosts`,
//! and `-p`/`-P` ([`berth_network::ports`]). Each is parsed once into typed values of
//! [`RunOptions`]; the errors are Podman's words.
//!
//! Wired: `host`, `none`, bridge mode (`bridge`, `private`, named networks: netavark,
//! through [`crate::engine`]'s network step; as a plain user inside the rootless netns),
//! `container:ID` and `ns:PATH`; as a plain user also `pasta` and `slirp4netns`. The default (no `--network`, or
//! `private`) is bridge mode on the default network as root, as Podman's; pasta as a plain
//! user (slirp4netns when only that is installed). [`Network::ensure_wired`] refuses the
//! rest in one line rather than running such a container on the host's network.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use berth_network::ports::PublishSpec;

use super::RunOptions;
use crate::error::{Result, RunError};

/// The container's network, as `--network` chose it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Network {
    /// `host`: the host's network namespace (the default of a build's `RUN` as a plain user).
    #[default]
    Host,
    /// `none`: a new network namespace with only a loopback device.
    None,
    /// `private` or an empty value: Podman's default mode (the default bridge network as
    /// root, the rootless network otherwise).
    Private,
    /// `bridge[:OPTS]` (the default network) or named networks: bridge mode.
    Bridge(Vec<NetworkAttachment>),
    /// `container:ID`: another container's namespace.
    Container(String),
    /// `ns:PATH`: a namespace bind-mounted at PATH.
    Ns(PathBuf),
    /// `slirp4netns[:OPTS]`, the options as given.
    Slirp4netns(Vec<String>),
    /// `pasta[:OPTS]`, the options as given.
    Pasta(Vec<String>),
}

/// One network a bridge-mode container joins, with its per-network options.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct NetworkAttachment {
    /// The network's name; `None` for the default network (`bridge`).
    pub name: Option<String>,
    /// `ip=`, `ip6=`, `--ip`: static addresses.
    #[serde(default)]
    pub static_ips: Vec<IpAddr>,
    /// `mac=`, `--mac-address`: lowercase `xx:xx:xx:xx:xx:xx`.
    #[serde(default)]
    pub static_mac: Option<String>,
    /// `alias=`, `--network-alias`: more names for the container on this network.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `interface_name=`: the interface's name inside the container.
    #[serde(default)]
    pub interface_name: Option<String>,
}

impl Network {
    /// Podman's name for the mode (`host`, `none`, `private`, `bridge`, `container`, `path`,
    /// `slirp4netns`, `pasta`), as its errors print it.
    pub fn mode(&self) -> &'static str {
        match self {
            Network::Host => "host",
            Network::None => "none",
            Network::Private => "private",
            Network::Bridge(_) => "bridge",
            Network::Container(_) => "container",
            Network::Ns(_) => "path",
            Network::Slirp4netns(_) => "slirp4netns",
            Network::Pasta(_) => "pasta",
        }
    }

    /// `HostConfig.NetworkMode` as `podman inspect` shows it.
    pub fn inspect_mode(&self) -> String {
        match self {
            Network::Container(id) => format!("container:{id}"),
            Network::Ns(path) => format!("ns:{}", path.display()),
            Network::Private => "bridge".to_string(),
            other => other.mode().to_string(),
        }
    }

    /// Whether the container gets a network namespace of its own (not the host's, nor one
    /// it shares).
    pub fn has_own_netns(&self) -> bool {
        !matches!(self, Network::Host | Network::Container(_) | Network::Ns(_))
    }

    /// `--network` values (repeatable; none at all is `host`), as Podman's ParseNetworkFlag:
    /// several values only name networks.
    pub fn parse_flags<S: AsRef<str>>(values: &[S]) -> Result<Network> {
        let mut out = Network::Host;
        let mut attachments: Vec<NetworkAttachment> = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let value = value.as_ref();
            if i > 0 {
                only_networks(&out, &attachments)?;
            }
            let (key, opts) = match value.split_once(':') {
                Some((k, o)) => (k, Some(o)),
                None => (value, None),
            };
            out = match (key, opts) {
                ("slirp4netns", _) => Network::Slirp4netns(split_opts(opts)),
                ("pasta", _) => Network::Pasta(split_opts(opts)),
                ("" | "default" | "private", None) => Network::Private,
                ("none", None) => Network::None,
                ("host", None) => Network::Host,
                ("ns", Some("")) => {
                    return invalid("invalid config provided: namespace mode path requires a value")
                }
                ("ns", Some(path)) => Network::Ns(PathBuf::from(path)),
                ("container", Some("")) => {
                    return invalid(
                        "invalid config provided: namespace mode container requires a value",
                    )
                }
                ("container", Some(id)) => Network::Container(id.to_string()),
                ("bridge", _) => {
                    let mut a = parse_network_opts("bridge", opts.unwrap_or(""))?;
                    a.name = None;
                    add_attachment(&mut attachments, a);
                    Network::Bridge(Vec::new())
                }
                (_, None) => {
                    for name in value.split(',') {
                        add_attachment(
                            &mut attachments,
                            NetworkAttachment {
                                name: Some(name.to_string()),
                                ..Default::default()
                            },
                        );
                    }
                    Network::Bridge(Vec::new())
                }
                ("", Some(_)) => return invalid("network name cannot be empty: invalid argument"),
                (name, Some(opts)) => {
                    let mut a = parse_network_opts(name, opts)?;
                    a.name = Some(name.to_string());
                    add_attachment(&mut attachments, a);
                    Network::Bridge(Vec::new())
                }
            };
        }
        if values.len() > 1 {
            only_networks(&out, &attachments)?;
        }
        if let Network::Bridge(a) = &mut out {
            *a = attachments;
        }
        Ok(out)
    }

    /// The mode without `--network`: as root bridge mode on the default network (Podman's
    /// default), as a plain user pasta, or slirp4netns when only that is installed (with
    /// neither, pasta: [`Network::ensure_wired`] names the package to install).
    pub fn default_for_user() -> Network {
        if berth_image_store::store::is_host_root() {
            Network::Private
        } else if berth_network::pasta::find().is_err()
            && berth_network::slirp4netns::find().is_ok()
        {
            Network::Slirp4netns(Vec::new())
        } else {
            Network::Pasta(Vec::new())
        }
    }

    /// Refuse what berth cannot run (a container on such a network must not end up on the
    /// host's network silently): `pasta` and `slirp4netns` as root (berth runs them only
    /// rootless), a missing `pasta`/`slirp4netns` (the Debian package named), bad options.
    pub fn ensure_wired(&self) -> Result<()> {
        self.ensure_wired_as(berth_image_store::store::is_host_root())
    }

    fn ensure_wired_as(&self, root: bool) -> Result<()> {
        match self {
            Network::Host | Network::None | Network::Container(_) | Network::Ns(_) => Ok(()),
            // Rootless: netavark in the rootless netns (berth_network::rootless_netns).
            Network::Private | Network::Bridge(_) => Ok(()),
            Network::Pasta(_) | Network::Slirp4netns(_) if root => invalid(format!(
                "--network {0}: berth runs {0} only rootless; as root use --network bridge, \
                 host or none",
                self.mode()
            )),
            Network::Pasta(_) => Ok(berth_network::pasta::find().map(drop)?),
            Network::Slirp4netns(opts) => {
                berth_network::slirp4netns::SlirpOptions::parse(opts)?;
                Ok(berth_network::slirp4netns::find().map(drop)?)
            }
        }
    }

    /// `private` made explicit: bridge mode on the default network.
    pub fn resolved(self) -> Network {
        match self {
            Network::Private => Network::Bridge(vec![NetworkAttachment::default()]),
            other => other,
        }
    }

    /// The networks a bridge-mode container asks netavark for (`None`: not bridge mode).
    pub fn requests(&self) -> Option<Vec<berth_network::NetworkRequest>> {
        let attachments = match self {
            Network::Private => vec![NetworkAttachment::default()],
            Network::Bridge(a) => a.clone(),
            _ => return None,
        };
        Some(
            attachments
                .into_iter()
                .map(|a| berth_network::NetworkRequest {
                    network: a
                        .name
                        .unwrap_or_else(|| berth_network::DEFAULT_NETWORK.to_string()),
                    aliases: a.aliases,
                    static_ip: a.static_ips.first().copied(),
                    static_mac: a.static_mac,
                })
                .collect(),
        )
    }

    /// Apply `--ip`, `--mac-address` and `--network-alias` to the one network they can
    /// concern, as Podman: only in bridge mode (or its default), and only one network.
    fn fold_flag(&mut self, flag: &str, apply: impl FnOnce(&mut NetworkAttachment)) -> Result<()> {
        if *self == Network::Private {
            *self = Network::Bridge(vec![NetworkAttachment::default()]);
        }
        let Network::Bridge(attachments) = self else {
            return invalid(format!(
                "--{flag} can only be set when the network mode is bridge: invalid argument"
            ));
        };
        match &mut attachments[..] {
            [one] => {
                apply(one);
                Ok(())
            }
            _ => invalid(format!(
                "--{flag} can only be set for a single network: invalid argument"
            )),
        }
    }
}

impl FromStr for Network {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Self> {
        Network::parse_flags(&[s])
    }
}

/// Several `--network` values only name networks (Podman's check, with its words).
fn only_networks(mode: &Network, attachments: &[NetworkAttachment]) -> Result<()> {
    if attachments.is_empty() || !matches!(mode, Network::Bridge(_)) {
        return invalid(format!(
            "cannot set multiple networks without bridge network mode, selected mode {}: invalid argument",
            mode.mode()
        ));
    }
    Ok(())
}

fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(RunError::Invalid(msg.into()))
}

fn split_opts(opts: Option<&str>) -> Vec<String> {
    opts.map(|o| o.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

/// `--network NAME --network NAME`: one attachment, the later options win.
fn add_attachment(list: &mut Vec<NetworkAttachment>, a: NetworkAttachment) {
    match list.iter_mut().find(|x| x.name == a.name) {
        Some(x) => *x = a,
        None => list.push(a),
    }
}

/// `ip=…,ip6=…,mac=…,alias=…,interface_name=…` after `NAME:`.
fn parse_network_opts(name: &str, opts: &str) -> Result<NetworkAttachment> {
    let mut a = NetworkAttachment::default();
    let fail = |e: String| RunError::Invalid(format!("invalid option for network {name}: {e}"));
    if opts.is_empty() {
        return Ok(a);
    }
    for opt in opts.split(',') {
        let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
        match key {
            "ip" | "ip6" => a.static_ips.push(
                value
                    .parse()
                    .map_err(|_| fail(format!("invalid ip address {value:?}")))?,
            ),
            "mac" => a.static_mac = Some(parse_mac(value).map_err(fail)?),
            "alias" if value.is_empty() => return Err(fail("alias cannot be empty".into())),
            "alias" => a.aliases.push(value.to_string()),
            "interface_name" if value.is_empty() => {
                return Err(fail("interface_name cannot be empty".into()))
            }
            "interface_name" => a.interface_name = Some(value.to_string()),
            other => return Err(fail(format!("unknown bridge network option: {other}"))),
        }
    }
    Ok(a)
}

/// A MAC address `xx:xx:xx:xx:xx:xx` (or with `-`), lowercase with colons.
pub fn parse_mac(s: &str) -> std::result::Result<String, String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(parts.join(":").to_ascii_lowercase())
    } else {
        Err(format!("address {s}: invalid MAC address"))
    }
}

/// One `--add-host NAME:IP` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HostEntry {
    /// The name(s) as given (Podman keeps `a b:IP` as two names on one line).
    pub name: String,
    pub ip: IpAddr,
}

impl FromStr for HostEntry {
    type Err = RunError;
    /// Podman's check: split at the first `:` (so `name:::1` is IPv6), a name, an address.
    fn from_str(s: &str) -> Result<HostEntry> {
        match s.split_once(':') {
            Some((name, ip)) if !name.is_empty() => Ok(HostEntry {
                name: name.to_string(),
                ip: ip.parse().map_err(|_| {
                    RunError::Invalid(format!("invalid IP address in add-host: {ip:?}"))
                })?,
            }),
            _ => invalid(format!("bad format for add-host: {s:?}")),
        }
    }
}

/// The network flags as the CLI got them (strings), for [`RunOptions::apply_network_flags`].
#[derive(Debug, Default, Clone)]
pub struct NetworkFlags {
    /// `--network`, each time given (empty: [`Network::default_for_user`]).
    pub network: Vec<String>,
    /// `-p/--publish` values (comma-separated lists already split; empty ones are skipped).
    pub publish: Vec<String>,
    pub publish_all: bool,
    /// `--dns` (`none`: keep the image's `/etc/resolv.conf`).
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub add_host: Vec<String>,
    pub no_hosts: bool,
    pub ip: Vec<String>,
    pub ip6: Vec<String>,
    pub mac_address: Option<String>,
    pub network_alias: Vec<String>,
}

/// Podman's words when `-p` meets a network mode that has no ports to publish.
pub const PORTS_DISCARDED: &str = "Port mappings have been discarded as one of the Host, \
     Container, Pod, and None network modes are in use";

impl RunOptions {
    /// Parse and check the network flags into these options, as Podman 4.3 does. Returns
    /// the warnings to show (Podman's: `-p` with `--network host|none|container:`).
    /// Does not refuse modes that are not wired yet ([`Network::ensure_wired`]).
    pub fn apply_network_flags(&mut self, f: &NetworkFlags) -> Result<Vec<&'static str>> {
        let mut warnings = Vec::new();
        for h in &f.add_host {
            self.add_hosts.push(h.parse()?);
        }
        if f.no_hosts && !f.add_host.is_empty() {
            return invalid("--no-hosts and --add-host cannot be set together");
        }
        self.use_image_hosts = f.no_hosts;
        for d in &f.dns {
            if d == "none" {
                if f.dns.len() > 1 {
                    return invalid(format!(
                        "{d} is not allowed to be specified with other DNS ip addresses"
                    ));
                }
                self.use_image_resolv_conf = true;
                break;
            }
            self.dns_servers.push(
                d.parse()
                    .map_err(|_| RunError::Invalid(format!("{d} is not an ip address")))?,
            );
        }
        self.dns_search = f.dns_search.clone();
        self.dns_options = f.dns_option.clone();
        for p in f.publish.iter().filter(|p| !p.is_empty()) {
            self.publish
                .push(PublishSpec::parse(p).map_err(|e| RunError::Invalid(e.to_string()))?);
        }
        self.publish_all = f.publish_all;
        self.network = if f.network.is_empty() {
            Network::default_for_user()
        } else {
            Network::parse_flags(&f.network)?
        };
        if self.network == Network::Private && !berth_image_store::store::is_host_root() {
            // Podman's `private` as a plain user: the rootless network.
            self.network = Network::default_for_user();
        }
        for (flag, values) in [("ip", &f.ip), ("ip6", &f.ip6)] {
            for v in values {
                let ip: IpAddr = v
                    .parse()
                    .map_err(|_| RunError::Invalid(format!("{v:?} is not an ip address")))?;
                self.network.fold_flag(flag, |a| a.static_ips.push(ip))?;
            }
        }
        if let Some(mac) = &f.mac_address {
            let mac = parse_mac(mac).map_err(RunError::Invalid)?;
            self.network
                .fold_flag("mac-address", |a| a.static_mac = Some(mac))?;
        }
        if !f.network_alias.is_empty() {
            let aliases = f.network_alias.clone();
            self.network
                .fold_flag("network-alias", |a| a.aliases.extend(aliases))?;
        }
        let dns_given = !(self.dns_servers.is_empty()
            && self.dns_search.is_empty()
            && self.dns_options.is_empty());
        if dns_given && matches!(self.network, Network::None | Network::Container(_)) {
            return invalid(format!(
                "conflicting options: dns and the network mode: {}",
                self.network.mode()
            ));
        }
        if !self.publish.is_empty()
            && matches!(
                self.network,
                Network::Host | Network::None | Network::Container(_)
            )
        {
            warnings.push(PORTS_DISCARDED);
            self.publish.clear();
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests;
