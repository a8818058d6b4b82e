//! Signing and trust commands: `generate-sigstore-key`, `image sign`, `image trust show|set`,
//! and the signing flags `push` and `copy` share. Every operation is a `berth-trust` or
//! `berth-registry` call; this file parses flags, reads passphrases and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_registry::config::RegistriesConf;
use berth_registry::sign::sign_pushed;
use berth_trust::edit::{TrustEntry, TrustRecord};
use berth_trust::sigstore::KeyPairFiles;
use clap::{Args, Subcommand};

use crate::prompt::passphrase;
use crate::registry::{ConnectArgs, SignArgs};
use crate::stdio::OnClosed;
use crate::Context;

#[derive(Args)]
pub struct GenerateKeyArgs {
    /// Write the key pair to PREFIX.private and PREFIX.pub.
    #[arg(long, value_name = "PREFIX")]
    output_prefix: PathBuf,
    /// Read the passphrase from this file (first line) instead of a prompt.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

/// `berth generate-sigstore-key`: a cosign-format key pair (encrypted private key).
pub fn generate_key(_ctx: &Context, args: GenerateKeyArgs) -> Result<ExitCode> {
    let files = KeyPairFiles::new(&args.output_prefix)?;
    let passphrase = passphrase(
        args.passphrase_file.as_deref(),
        "Enter a passphrase for the private key: ",
        true,
    )?;
    files.generate(&passphrase)?;
    outln!(
        "Key written to {} and {}",
        files.private.display(),
        files.public.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct SignImageArgs {
    /// Images to sign: docker://REGISTRY/NAME[:TAG|@DIGEST] (already pushed).
    #[arg(required = true)]
    images: Vec<String>,
    #[command(flatten)]
    sign: SignArgs,
    /// Write GPG signatures under this directory instead of the configured lookaside.
    #[arg(short = 'd', long, value_name = "DIR")]
    directory: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
}

/// `berth image sign`: sign images already in a registry.
pub fn sign(_ctx: &Context, args: SignImageArgs) -> Result<ExitCode> {
    let mut opts = args.sign.options()?;
    opts.lookaside_dir = args.directory.clone();
    if opts.is_empty() {
        bail!("image sign: name a key (--sign-by or --sign-by-sigstore-private-key)");
    }
    let connect = args.connect.options(args.creds.as_deref())?;
    let conf = RegistriesConf::load()?;
    let print = |line: &str| errln!("{line}");
    for image in &args.images {
        let Some(r) = image.strip_prefix("docker://") else {
            bail!("image sign {image}: only docker:// references can be signed");
        };
        sign_pushed(r, &connect, &conf, &opts, &print)
            .with_context(|| format!("signing {image}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum TrustCommand {
    /// Show the trust policy (and where signatures are looked up).
    Show(TrustShowArgs),
    /// Set the trust policy of a registry scope (or `default`).
    Set(TrustSetArgs),
}

impl TrustCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        match self {
            TrustCommand::Show(_) => OnClosed::Quit,
            TrustCommand::Set(_) => OnClosed::Finish,
        }
    }
}

#[derive(Args)]
pub struct TrustShowArgs {
    /// Only this registry scope.
    scope: Option<String>,
    /// Print the policy file as it is.
    #[arg(long)]
    raw: bool,
    /// Print JSON.
    #[arg(short = 'j', long)]
    json: bool,
    /// Policy file (default /etc/containers/policy.json).
    #[arg(long, value_name = "PATH")]
    policypath: Option<PathBuf>,
    /// Directory of registries.d files.
    #[arg(long = "registrypath", value_name = "DIR")]
    registrypath: Option<PathBuf>,
}

#[derive(Args)]
pub struct TrustSetArgs {
    /// Registry scope (`host[:port][/repo]`) or `default`.
    scope: String,
    /// Trust type: accept, reject, signedBy or sigstoreSigned.
    #[arg(short = 't', long = "type", value_name = "TYPE")]
    kind: String,
    /// Public key file (repeat for several).
    #[arg(short = 'f', long = "pubkeysfile", value_name = "FILE")]
    pubkeys: Vec<PathBuf>,
    /// Policy file (default /etc/containers/policy.json).
    #[arg(long, value_name = "PATH")]
    policypath: Option<PathBuf>,
}

fn policy_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/etc/containers/policy.json"))
}

pub fn trust(_ctx: &Context, command: TrustCommand) -> Result<ExitCode> {
    match command {
        TrustCommand::Show(a) => trust_show(a),
        TrustCommand::Set(a) => {
            let path = policy_path(a.policypath.as_deref());
            berth_trust::edit::set(&path, &a.scope, &a.kind, &a.pubkeys)
                .with_context(|| format!("setting the trust of {}", a.scope))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn trust_show(a: TrustShowArgs) -> Result<ExitCode> {
    let path = policy_path(a.policypath.as_deref());
    if a.raw {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        out!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut entries = berth_trust::edit::show(&path, a.registrypath.as_deref())?;
    if let Some(scope) = &a.scope {
        entries.retain(|e| &e.scope == scope);
    }
    if a.json {
        let list: Vec<TrustRecord> = entries.iter().map(TrustEntry::record).collect();
        outln!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    // Podman's columns: TRANSPORT NAME TYPE ID STORE.
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.transport.clone(),
                e.scope.clone(),
                e.kind.clone(),
                e.keys.join(", "),
                e.lookaside.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let headers = ["TRANSPORT", "NAME", "TYPE", "ID", "STORE"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].len())
            .max()
            .unwrap_or(0)
            .max(headers[i].len())
    };
    let widths: Vec<usize> = (0..4).map(width).collect();
    let print_row = |cells: [&str; 5]| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i < 4 {
                line.push_str(&format!("{cell:w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        outln!("{}", line.trim_end());
    };
    print_row(headers);
    for r in &rows {
        print_row([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    Ok(ExitCode::SUCCESS)
}
