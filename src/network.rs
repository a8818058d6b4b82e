//! Network commands: `network create|ls|inspect|rm|exists|prune` (and `connect`,
//! `disconnect`, `reload`, in `network_containers.rs`), in Podman's words and shapes. The definitions, their checks and the subnet choice are berth-network's
//! ([`berth_network::Catalog`]); this file parses, prints and picks exit codes.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_network::config::IpNet;
use berth_network::{Catalog, CreateOptions, Network, NetworkDirs, NetworkError};
use berth_run::{network_admin, RunError};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::stdio::OnClosed;
use crate::template::{is_json, ListFormat, Template};
use crate::Context;

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a network (default name: the first free berthN).
    Create(CreateArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display the configuration of networks (JSON or --format).
    Inspect(InspectArgs),
    /// Remove networks (not the default network `berth`).
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Exit 0 if the network exists, 1 if not.
    Exists(ExistsArgs),
    /// Remove every network no container uses (never the default network).
    Prune(PruneArgs),
    /// Connect a container to a network (a running one at once).
    Connect(crate::network_containers::ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(crate::network_containers::DisconnectArgs),
    /// Make running containers' firewall rules again (after they were flushed).
    Reload(crate::network_containers::ReloadArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// The driver: only `bridge`.
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// The subnet in CIDR form (default: the first free /24 from 10.90.0.0).
    #[arg(long)]
    subnet: Option<String>,
    /// The gateway (default: the subnet's first address).
    #[arg(long)]
    gateway: Option<String>,
    /// Hand out addresses only from this range (CIDR) of the subnet.
    #[arg(long)]
    ip_range: Option<String>,
    /// No route out of the network.
    #[arg(long)]
    internal: bool,
    /// No DNS (aardvark-dns) on the network.
    #[arg(long)]
    disable_dns: bool,
    /// A label, KEY=VALUE (repeatable).
    #[arg(long)]
    label: Vec<String>,
    /// The bridge device's name (default: the first free berthN).
    #[arg(long)]
    interface_name: Option<String>,
    /// The network's name.
    name: Option<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Show only names.
    #[arg(short, long)]
    quiet: bool,
    /// `json`, or a Go template (`{{.Name}} {{.Driver}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Only networks matching: name=, id=, driver=, label=KEY[=VALUE] (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Do not print the header line.
    #[arg(long)]
    noheading: bool,
    /// Full network ids.
    #[arg(long)]
    no_trunc: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Networks (names or ids).
    #[arg(required = true)]
    networks: Vec<String>,
    /// `json` (default) or a Go template such as `{{.Name}}`.
    #[arg(short, long, default_value = "json")]
    format: String,
}

#[derive(Args)]
pub struct RmArgs {
    /// Also remove the containers that use the network (none can yet).
    #[arg(short, long)]
    force: bool,
    /// Networks (names or ids).
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Args)]
pub struct ExistsArgs {
    /// A network name or id.
    network: String,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Only networks matching: label=KEY[=VALUE] (repeatable).
    #[arg(long)]
    filter: Vec<String>,
}

impl NetworkCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            NetworkCommand::Ls(_) | NetworkCommand::Inspect(_) | NetworkCommand::Exists(_) => {
                OnClosed::Quit
            }
            NetworkCommand::Create(_)
            | NetworkCommand::Rm(_)
            | NetworkCommand::Prune(_)
            | NetworkCommand::Connect(_)
            | NetworkCommand::Disconnect(_)
            | NetworkCommand::Reload(_) => OnClosed::Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: NetworkCommand) -> Result<ExitCode> {
    // Networks are the user's, not the store's: `--root` does not choose them.
    let catalog = Catalog::open(NetworkDirs::for_current_user())?;
    match command {
        NetworkCommand::Create(a) => {
            let n = catalog.create(&create_options(a)?)?;
            outln!("{}", n.name);
        }
        NetworkCommand::Ls(a) => list(&catalog, &a)?,
        NetworkCommand::Inspect(a) => {
            let mut out = Vec::new();
            for n in &a.networks {
                out.push(catalog.get(n)?);
            }
            if a.format.is_empty() || a.format == "json" {
                // Podman 4.3's network inspect indents by five spaces.
                outln!("{}", crate::output::go_json(&out, "     ")?);
            } else {
                let t = Template::parse(&a.format, "inspect")?;
                for n in &out {
                    out!("{}", t.render_value(&go_record(n, true), "inspect")?);
                }
            }
        }
        NetworkCommand::Rm(a) => return remove(ctx, &catalog, &a),
        NetworkCommand::Connect(a) => return crate::network_containers::connect(ctx, a),
        NetworkCommand::Disconnect(a) => return crate::network_containers::disconnect(ctx, a),
        NetworkCommand::Reload(a) => return crate::network_containers::reload(ctx, a),
        NetworkCommand::Exists(a) => {
            return Ok(if catalog.exists(&a.network)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        NetworkCommand::Prune(a) => {
            let filters = a
                .filter
                .iter()
                .map(|f| parse_filter(f, &["label"]))
                .collect::<Result<Vec<_>>>()?;
            let warning = "This will remove all networks not used by at least one container.";
            if !a.force && !crate::prompt::confirm(warning)? {
                return Ok(ExitCode::SUCCESS);
            }
            let store = NetworkStore::open(ctx)?;
            let engine = store.engine()?;
            for n in network_admin::prune(engine.as_ref(), &catalog, &|n| {
                network_admin::matches(n, &filters)
            })? {
                outln!("{}", n.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn create_options(a: CreateArgs) -> Result<CreateOptions> {
    let net = |flag: &str, v: &Option<String>| -> Result<Option<IpNet>> {
        v.as_deref()
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .with_context(|| format!("invalid argument {s:?} for \"--{flag}\" flag: invalid CIDR address: {s}"))
            })
            .transpose()
    };
    let gateway = a
        .gateway
        .as_deref()
        .map(|g| {
            g.parse().with_context(|| {
                format!("invalid argument {g:?} for \"--gateway\" flag: invalid IP address: {g}")
            })
        })
        .transpose()?;
    let mut labels = BTreeMap::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    Ok(CreateOptions {
        name: a.name,
        driver: Some(a.driver),
        subnet: net("subnet", &a.subnet)?,
        gateway,
        ip_range: net("ip-range", &a.ip_range)?,
        internal: a.internal,
        disable_dns: a.disable_dns,
        labels,
        interface_name: a.interface_name,
    })
}

/// `network ls`: Podman's table (`NETWORK ID  NAME  DRIVER`), `-q`, `--format`.
fn list(catalog: &Catalog, a: &LsArgs) -> Result<()> {
    let filters = a
        .filter
        .iter()
        .map(|f| parse_filter(f, &["name", "id", "driver", "label"]))
        .collect::<Result<Vec<_>>>()?;
    let networks: Vec<Network> = catalog
        .list()?
        .into_iter()
        .filter(|n| network_admin::matches(n, &filters))
        .collect();
    if a.quiet {
        networks.iter().for_each(|n| outln!("{}", n.name));
        return Ok(());
    }
    if a.format.as_deref().is_some_and(is_json) {
        let out: Vec<&Network> = networks.iter().collect();
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let format = ListFormat::new(
        a.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
        a.noheading,
        "network ls",
    )?;
    let rows: Vec<Value> = networks.iter().map(|n| go_record(n, a.no_trunc)).collect();
    let headers: serde_json::Map<String, Value> = HEADED_FIELDS
        .iter()
        .map(|f| (f.to_string(), Value::String(header_of(f))))
        .collect();
    format.print(&Value::Object(headers), &rows, "network ls")
}

/// The fields of [`go_record`], each with a column header.
const HEADED_FIELDS: &[&str] = &[
    "ID",
    "Name",
    "Driver",
    "NetworkInterface",
    "Created",
    "Subnets",
    "IPv6Enabled",
    "Internal",
    "DNSEnabled",
    "Labels",
    "Options",
    "IPAMOptions",
];

/// A column's header, as Podman derives it from the field's name.
fn header_of(field: &str) -> String {
    match field {
        "ID" => "NETWORK ID",
        "Name" => "NAME",
        "Driver" => "DRIVER",
        "NetworkInterface" => "NETWORK INTERFACE",
        "Created" => "CREATED",
        "Subnets" => "SUBNETS",
        "IPv6Enabled" => "IPV6 ENABLED",
        "Internal" => "INTERNAL",
        "DNSEnabled" => "DNS ENABLED",
        "Labels" => "LABELS",
        "Options" => "OPTIONS",
        "IPAMOptions" => "IPAM OPTIONS",
        other => return other.to_uppercase(),
    }
    .to_string()
}

/// A network under the Go field names Podman's templates use (`{{.Name}}`, `{{.ID}}`…).
fn go_record(n: &Network, full_id: bool) -> Value {
    let id = if full_id { n.id.as_str() } else { n.short_id() };
    let joined = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    json!({
        "Name": n.name,
        "ID": id,
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Created": crate::output::go_time(n.created),
        // CIDRs, where Podman 4.3 prints Go's dump of its structs
        // (`[{{{10.89.0.0 ffffff00}} 10.89.0.1 <nil>}]`, a lease range as a pointer).
        "Subnets": n.subnets.iter().map(|s| s.subnet.to_string()).collect::<Vec<_>>().join(","),
        "IPv6Enabled": n.ipv6_enabled,
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "Labels": joined(&n.labels),
        "Options": go_map(&n.options),
        "IPAMOptions": go_map(&n.ipam_options),
    })
}

/// A `map[string]string` as Go's `%v` prints it: `map[k1:v1 k2:v2]`, keys sorted.
fn go_map(m: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("map[{}]", pairs.join(" "))
}

/// One `--filter KEY=VALUE` of the kinds in `allowed`.
fn parse_filter(f: &str, allowed: &[&str]) -> Result<(String, String)> {
    let Some((k, v)) = f.split_once('=') else {
        bail!("invalid filter {f:?}: use KEY=VALUE");
    };
    if !allowed.contains(&k) {
        bail!("invalid filter {k:?}: use one of {}", allowed.join(", "));
    }
    Ok((k.to_string(), v.to_string()))
}

/// `network rm`: each network on its own, as Podman: the exit code is the worst failure's
/// (1 no such network, 125 anything else).
/// A network containers use is refused (exit 2) unless `-f`, which removes them first (as
/// Podman: forced, volumes kept).
fn remove(ctx: &Context, catalog: &Catalog, a: &RmArgs) -> Result<ExitCode> {
    let store = NetworkStore::open(ctx)?;
    let engine = store.engine()?;
    let mut code = 0u8;
    for name in &a.networks {
        match network_admin::remove(engine.as_ref(), catalog, name, a.force) {
            Ok(_) => outln!("{name}"),
            Err(e) => {
                errln!("Error: {}", e.to_string().replace('\n', " "));
                code = code.max(match &e {
                    RunError::Network(NetworkError::NotFound(_)) => 1,
                    RunError::Network(NetworkError::InUse(_)) => 2,
                    _ => 125,
                });
            }
        }
    }
    Ok(ExitCode::from(code))
}

/// The store whose containers may use networks: this store, as root or (inside berth's user
/// namespace, where its containers are) as a plain user with subordinate ids; without them a
/// plain user has no container on a bridge network ([`network_admin`]'s engine is optional).
struct NetworkStore {
    store: Option<berth_image_store::Store>,
    runroot: std::path::PathBuf,
}

impl NetworkStore {
    fn open(ctx: &Context) -> Result<NetworkStore> {
        let runroot = crate::containers::runroot(ctx);
        let has_containers = berth_image_store::store::is_host_root()
            || berth_run::rootless::enter_if_configured(&runroot)?;
        Ok(NetworkStore {
            store: if has_containers {
                Some(ctx.store()?)
            } else {
                None
            },
            runroot,
        })
    }

    fn engine(&self) -> Result<Option<berth_run::Engine<'_>>> {
        self.store
            .as_ref()
            .map(|s| berth_run::Engine::new(s, &self.runroot))
            .transpose()
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str) -> Network {
        Network::from_json(
            format!(
                r#"{{"name":"{name}","id":"{}","driver":"bridge"}}"#,
                "ab".repeat(32)
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn filter_kinds_are_checked() {
        assert!(parse_filter("until=1h", &["label"]).is_err());
        assert!(parse_filter("label", &["label"]).is_err());
        assert_eq!(
            parse_filter("label=a=b", &["label"]).unwrap(),
            ("label".to_string(), "a=b".to_string())
        );
    }

    #[test]
    fn templates_see_go_field_names() {
        let n = net("web");
        let t = Template::parse("{{.ID}} {{.Name}} {{.Driver}}", "list").unwrap();
        assert_eq!(
            t.render_value(&go_record(&n, false), "list").unwrap(),
            "abababababab web bridge\n"
        );
        assert_eq!(header_of("ID"), "NETWORK ID");
    }
}
