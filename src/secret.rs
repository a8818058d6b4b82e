//! `secret create|ls|inspect|rm|exists`, as Podman 4.3's (the file driver; its columns,
//! inspect record, exit codes and words). The secrets themselves are berth-run's
//! ([`berth_run::secrets`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_run::secrets::store::FILE_DRIVER;
use berth_run::secrets::{Secret, SecretStore, MAX_SECRET_SIZE};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::output::{go_rfc3339_nano, human_age};
use crate::stdio::OnClosed;
use crate::template::ListFormat;
use crate::Context;

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Create a secret from a file (`-`: standard input) or, with --env, a variable.
    Create(CreateArgs),
    /// List secrets.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display the details of secrets (JSON; never their data).
    Inspect(InspectArgs),
    /// Remove secrets.
    Rm(RmArgs),
    /// Exit 0 when the secret exists, 1 when it does not.
    Exists(ExistsArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Secret driver (berth has `file`).
    #[arg(short, long, default_value = FILE_DRIVER)]
    driver: String,
    /// Read the secret's data from the environment variable named by the second argument.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    env: bool,
    /// A label, KEY=VALUE (repeatable).
    #[arg(short, long, value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// The secret's name.
    name: String,
    /// The file holding the data (`-`: standard input), or with --env a variable's name.
    source: String,
}

#[derive(Args)]
pub struct LsArgs {
    /// Print only the IDs.
    #[arg(short, long)]
    quiet: bool,
    /// A Go template (`{{.Name}} {{.Driver}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Do not print the header.
    #[arg(long = "noheading")]
    noheading: bool,
    /// Show only secrets matching KIND=VALUE: name or id (regular expressions).
    #[arg(short, long, value_name = "KIND=VALUE")]
    filter: Vec<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Output format: `json` (default) or a Go template such as `{{.Spec.Name}}`.
    #[arg(short, long, default_value = "json")]
    format: String,
    /// Secret names or IDs.
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Remove every secret.
    #[arg(short, long)]
    all: bool,
    /// Secret names or IDs.
    names: Vec<String>,
}

#[derive(Args)]
pub struct ExistsArgs {
    /// A secret name or ID.
    name: String,
}

impl SecretCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            SecretCommand::Ls(_) | SecretCommand::Inspect(_) | SecretCommand::Exists(_) => {
                OnClosed::Quit
            }
            SecretCommand::Create(_) | SecretCommand::Rm(_) => OnClosed::Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: SecretCommand) -> Result<ExitCode> {
    crate::containers::enter(ctx)?;
    let secrets = SecretStore::new(&ctx.root());
    match command {
        SecretCommand::Create(a) => create(&secrets, &a)?,
        SecretCommand::Ls(a) => list(&secrets, &a)?,
        SecretCommand::Inspect(a) => {
            let mut out = Vec::new();
            let mut failed = None;
            for n in &a.names {
                match secrets.lookup(n) {
                    Ok(s) => out.push(inspect_record(&secrets, &s)),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if a.format.is_empty() || a.format == "json" {
                // Podman's field order and indent.
                outln!("{}", crate::output::go_json(&out, "    ")?);
            } else if failed.is_none() {
                let values: Vec<Value> = out
                    .iter()
                    .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                    .collect();
                crate::output::print_records(&values, &a.format)?;
            }
            if let Some(e) = failed {
                bail!("inspecting secret: {e}");
            }
        }
        SecretCommand::Rm(a) => return remove(&secrets, &a),
        SecretCommand::Exists(a) => {
            return Ok(if secrets.exists(&a.name)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `secret create`: prints the new id.
fn create(secrets: &SecretStore, a: &CreateArgs) -> Result<()> {
    let data = if a.env {
        std::env::var_os(&a.source)
            .map(|v| v.into_encoded_bytes())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot create store secret data: environment variable {} is not set",
                    a.source
                )
            })?
    } else if a.source == "-" {
        read_capped(std::io::stdin().lock()).context("reading the secret from stdin")?
    } else {
        let f = std::fs::File::open(&a.source).with_context(|| a.source.clone())?;
        read_capped(f).with_context(|| a.source.clone())?
    };
    let labels: BTreeMap<String, String> = a
        .label
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    outln!("{}", secrets.create(&a.name, &data, &a.driver, labels)?);
    Ok(())
}

/// Read at most one byte more than a secret may hold (the store refuses it with Podman's
/// words), never a whole large file.
fn read_capped(r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    r.take(MAX_SECRET_SIZE as u64 + 1).read_to_end(&mut data)?;
    Ok(data)
}

/// `secret ls`: Podman's table (`ID NAME DRIVER CREATED UPDATED`), `-q` or a template.
fn list(secrets: &SecretStore, a: &LsArgs) -> Result<()> {
    if a.quiet && a.format.is_some() {
        bail!("quiet and format flags cannot be used together");
    }
    let format = if a.quiet {
        ListFormat::new(Some("{{.ID}}"), "", true, "secret ls")?
    } else {
        ListFormat::new(
            a.format.as_deref(),
            "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
            a.noheading,
            "secret ls",
        )?
    };
    let filters = berth_run::secrets::SecretFilters::parse_texts(&a.filter)?;
    let rows: Vec<Value> = secrets
        .list()?
        .iter()
        .filter(|s| filters.matches(s))
        .map(|s| {
            json!({
                "ID": s.id, "Name": s.name, "Driver": s.driver,
                "CreatedAt": human_age(Some(s.created)), "UpdatedAt": human_age(Some(s.updated)),
                "Labels": s.labels,
            })
        })
        .collect();
    let headers = json!({
        "ID": "ID", "Name": "NAME", "Driver": "DRIVER", "CreatedAt": "CREATED",
        "UpdatedAt": "UPDATED", "Labels": "LABELS",
    });
    format.print(&headers, &rows, "secret ls")
}

/// Podman's `secret inspect` record (no data), its fields in Podman's order.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectRecord {
    #[serde(rename = "ID")]
    id: String,
    created_at: String,
    updated_at: String,
    spec: InspectSpec,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectSpec {
    name: String,
    driver: InspectDriver,
    labels: BTreeMap<String, String>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectDriver {
    name: String,
    options: BTreeMap<String, String>,
}

fn inspect_record(secrets: &SecretStore, s: &Secret) -> InspectRecord {
    InspectRecord {
        id: s.id.clone(),
        created_at: go_rfc3339_nano(s.created),
        updated_at: go_rfc3339_nano(s.updated),
        spec: InspectSpec {
            name: s.name.clone(),
            driver: InspectDriver {
                name: s.driver.clone(),
                options: BTreeMap::from([(
                    "path".to_string(),
                    secrets.data_dir().display().to_string(),
                )]),
            },
            labels: s.labels.clone(),
        },
    }
}

/// `secret rm NAME…|--all`: prints each id removed; a missing one is an error (125).
fn remove(secrets: &SecretStore, a: &RmArgs) -> Result<ExitCode> {
    if a.all != a.names.is_empty() {
        bail!("`berth secret rm` requires one argument, or the --all flag");
    }
    let names: Vec<String> = if a.all {
        secrets.list()?.into_iter().map(|s| s.id).collect()
    } else {
        a.names.clone()
    };
    let mut failed = false;
    for n in &names {
        match secrets.remove(n) {
            Ok(id) => outln!("{id}"),
            Err(e) => {
                errln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(crate::EXIT_BERTH_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}
