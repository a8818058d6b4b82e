//! Registry commands: `pull`, `push`, `login`, `logout`, `copy`, `search`. Every operation is a
//! `berth-registry` call; this file parses flags and prints.

use std::io::{self, BufRead};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use berth_layers::compression::Compression;
use berth_registry::auth::{auth_key, Credentials};
use berth_registry::connect::ConnectOptions;
use berth_registry::convert::{ManifestFormat, PushConversion};
use berth_registry::copy::{copy as copy_between, CopyOptions, Location};
use berth_registry::login::{stored_login, LoginRequest, LogoutOutcome, LogoutTarget};
use berth_registry::platform::Platform;
use berth_registry::pull::{pull as pull_image, pull_all_tags, PullOptions};
use berth_registry::push::{push as push_image, push_destination, PushOptions};
use berth_registry::retry::RetryPolicy;
use berth_registry::signatures::SignOptions;
use berth_trust::sigstore::SigstorePrivateKey;
use clap::Args;

use crate::progress::Reporter;
use crate::Context;

// Signing flags of `push`, `copy` and `image sign` (Podman's and Skopeo's names).
#[derive(Args, Clone, Default)]
pub struct SignArgs {
    /// Sign the pushed image with this cosign private key (sigstore attachments).
    #[arg(long, value_name = "KEY")]
    sign_by_sigstore_private_key: Option<PathBuf>,
    /// Sign the pushed image with this GPG key (simple signing, into the lookaside).
    #[arg(long, value_name = "FINGERPRINT")]
    sign_by: Option<String>,
    /// Read the passphrase of the signing key from this file (first line).
    #[arg(long, value_name = "FILE")]
    sign_passphrase_file: Option<PathBuf>,
    /// Directory of registries.d files: where signatures are read and written (default
    /// ~/.config/containers/registries.d, else /etc/containers/registries.d).
    #[arg(long = "registries.d", value_name = "DIR")]
    pub registries_d: Option<PathBuf>,
}

impl SignArgs {
    /// Read and decrypt the keys now, so a wrong passphrase fails before anything is pushed.
    pub fn options(&self) -> Result<SignOptions> {
        let sigstore_key = match &self.sign_by_sigstore_private_key {
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("reading private key {}", path.display()))?;
                let passphrase = crate::prompt::passphrase(
                    self.sign_passphrase_file.as_deref(),
                    &format!("Passphrase for key {}: ", path.display()),
                    false,
                )?;
                Some(
                    SigstorePrivateKey::from_encrypted_pem(&pem, &passphrase)
                        .with_context(|| format!("private key {}", path.display()))?,
                )
            }
            None => None,
        };
        Ok(SignOptions {
            sigstore_key,
            gpg_key: self.sign_by.clone(),
            gpg_passphrase_file: self.sign_passphrase_file.clone(),
            registries_d: self.registries_d.clone(),
            lookaside_dir: None,
        })
    }
}

// Flags every registry command shares. (A plain comment: the doc comment of a flattened struct would replace the
// command's own `--help` summary.)
#[derive(Args, Clone)]
pub struct ConnectArgs {
    /// Require HTTPS and verify certificates (`--tls-verify=false` allows plain HTTP).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    tls_verify: Option<bool>,
    /// Path of the authentication file (default: $REGISTRY_AUTH_FILE or
    /// ${XDG_RUNTIME_DIR}/containers/auth.json).
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
    /// Directory with certificates (*.crt CAs, *.cert/*.key client pair).
    #[arg(long, value_name = "DIR")]
    cert_dir: Option<PathBuf>,
}

impl ConnectArgs {
    /// The connection options, with `--creds` when the command has it.
    pub fn options(&self, creds: Option<&str>) -> Result<ConnectOptions> {
        Ok(ConnectOptions {
            tls_verify: self.tls_verify,
            authfile: self.authfile.clone(),
            creds: creds.map(Credentials::parse).transpose()?,
            cert_dir: self.cert_dir.clone(),
        })
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: use e.g. 500ms, 2s, 1m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("invalid duration {s:?}: use e.g. 500ms, 2s, 1m")),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Args)]
pub struct PullArgs {
    /// Image to pull: [docker://][REGISTRY/]NAME[:TAG|@DIGEST].
    reference: String,
    /// Print only the image id.
    #[arg(short, long)]
    quiet: bool,
    /// Pull every tag of the repository.
    #[arg(short, long)]
    all_tags: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
    /// Platform to pull from a multi-platform image: OS/ARCH[/VARIANT].
    #[arg(long)]
    platform: Option<String>,
    /// Architecture to pull (instead of the host's).
    #[arg(long)]
    arch: Option<String>,
    /// Operating system to pull (instead of the host's).
    #[arg(long)]
    os: Option<String>,
    /// Architecture variant to pull.
    #[arg(long)]
    variant: Option<String>,
    /// Times to retry when the registry cannot be reached (and each blob on network errors).
    #[arg(long, default_value_t = 3)]
    retry: u32,
    /// Delay between retries, e.g. 500ms, 2s (a blob's doubles after each of its retries).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    retry_delay: Duration,
    /// Blobs fetched at once.
    #[arg(long, default_value_t = 6)]
    max_parallel: usize,
    /// Policy file for the trust check (default ~/.config/containers/policy.json, then
    /// /etc/containers/policy.json).
    #[arg(long, value_name = "FILE")]
    signature_policy: Option<PathBuf>,
    /// Directory of registries.d files: where signatures are looked up (default
    /// ~/.config/containers/registries.d, else /etc/containers/registries.d).
    #[arg(long = "registries.d", value_name = "DIR")]
    registries_d: Option<PathBuf>,
}

pub fn pull(ctx: &Context, args: PullArgs) -> Result<ExitCode> {
    let reporter = Reporter::new(args.quiet);
    let opts = PullOptions {
        connect: args.connect.options(args.creds.as_deref())?,
        platform: Platform::choose(
            args.platform.as_deref(),
            args.os.as_deref(),
            args.arch.as_deref(),
            args.variant.as_deref(),
        )?,
        retry: args.retry,
        retry_delay: args.retry_delay,
        max_parallel: args.max_parallel,
        signature_policy: args.signature_policy.clone(),
        registries_d: args.registries_d.clone(),
        all_platforms: false,
        observer: reporter.observer(),
    };
    let store = ctx.store()?;
    let print = |line: &str| reporter.line(line);
    if args.all_tags {
        let records = pull_all_tags(&store, &args.reference, &opts, &print)
            .with_context(|| format!("pulling every tag of {}", args.reference))?;
        for record in records {
            outln!("{}", record.id.digest());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let record = pull_image(&store, &args.reference, &opts, &print)
        .with_context(|| format!("pulling {}", args.reference))?;
    outln!("{}", record.id.digest());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct PushArgs {
    /// Image in the store (name or id).
    image: String,
    /// Destination: [docker://]REGISTRY/NAME[:TAG] (default: the image's name).
    destination: Option<String>,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
    /// Write the digest of the pushed manifest to this file.
    #[arg(long, value_name = "FILE")]
    digestfile: Option<PathBuf>,
    /// Compress layers with this codec (gzip, zstd, none); layers already in it are kept.
    #[arg(long, value_name = "FORMAT")]
    compression_format: Option<String>,
    /// Compression level (gzip 0-9, zstd 1-22).
    #[arg(long, value_name = "N")]
    compression_level: Option<i32>,
    /// Recompress layers even when they already use --compression-format.
    #[arg(long)]
    force_compression: bool,
    /// Manifest format: oci or v2s2 (default: as stored).
    #[arg(short, long, value_name = "FORMAT")]
    format: Option<String>,
    /// Times to retry when the registry cannot be reached.
    #[arg(long, default_value_t = 3)]
    retry: u32,
    /// Delay between retries, e.g. 500ms, 2s.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    retry_delay: Duration,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn push(ctx: &Context, args: PushArgs) -> Result<ExitCode> {
    let dest = match args.destination.as_deref() {
        Some(d) if transport_prefix(d) => {
            bail!("push destination {d:?}: only docker:// is supported by push; use berth copy")
        }
        d => push_destination(&args.image, d)?,
    };
    let opts = args.connect.options(args.creds.as_deref())?;
    let conv = PushConversion {
        compression: args
            .compression_format
            .as_deref()
            .map(|c| {
                Compression::parse(c)
                    .ok_or_else(|| anyhow!("--compression-format {c:?}: use gzip, zstd or none"))
            })
            .transpose()?,
        level: args.compression_level,
        force: args.force_compression,
        format: args
            .format
            .as_deref()
            .map(|f| {
                ManifestFormat::parse(f).ok_or_else(|| anyhow!("--format {f:?}: use oci or v2s2"))
            })
            .transpose()?,
    };
    if conv.force && conv.compression.is_none() {
        bail!("--force-compression needs --compression-format");
    }
    let reporter = Reporter::new(args.quiet);
    let opts = PushOptions {
        connect: opts,
        conversion: conv,
        sign: args.sign.options()?,
        observer: reporter.observer(),
        retry: RetryPolicy {
            times: args.retry,
            delay: args.retry_delay,
        },
    };
    let store = ctx.store()?;
    let print = |line: &str| reporter.line(line);
    let digest = push_image(&store, &args.image, &dest, &opts, &print)
        .with_context(|| format!("pushing {} to {dest}", args.image))?;
    if let Some(f) = &args.digestfile {
        std::fs::write(f, digest.to_string())
            .with_context(|| format!("writing {}", f.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn transport_prefix(s: &str) -> bool {
    [
        "oci:",
        "oci-archive:",
        "docker-archive:",
        "containers-storage:",
        "dir:",
    ]
    .iter()
    .any(|p| s.starts_with(p))
}

#[derive(Args)]
pub struct LoginArgs {
    /// Registry (`host[:port]`).
    registry: String,
    /// User name.
    #[arg(short, long)]
    username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    password: Option<String>,
    /// Read the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Print the user name stored for the registry.
    #[arg(long)]
    get_login: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub fn login(_ctx: &Context, args: LoginArgs) -> Result<ExitCode> {
    if args.get_login {
        let (key, found) = stored_login(&args.registry, args.connect.authfile.as_deref())?;
        match found {
            Some(c) => outln!("{}", c.username),
            None => bail!("not logged into {key}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let key = auth_key(&args.registry);
    let Some(username) = args.username.clone() else {
        bail!("login to {key}: a user name is required (-u USER)");
    };
    let password = match (&args.password, args.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p.clone(),
        (None, true) => {
            let mut line = String::new();
            io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => bail!("login to {key}: no password: use -p or --password-stdin"),
    };
    berth_registry::login::login(&LoginRequest {
        registry: args.registry.clone(),
        credentials: Credentials { username, password },
        tls_verify: args.connect.tls_verify,
        authfile: args.connect.authfile.clone(),
        cert_dir: args.connect.cert_dir.clone(),
    })?;
    outln!("Login Succeeded!");
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Registry (`host[:port]`).
    registry: Option<String>,
    /// Remove the credentials of every registry.
    #[arg(short, long)]
    all: bool,
    /// Path of the authentication file.
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
}

pub fn logout(_ctx: &Context, args: LogoutArgs) -> Result<ExitCode> {
    let target = match (&args.registry, args.all) {
        (_, true) => LogoutTarget::All,
        (Some(registry), false) => LogoutTarget::Registry(registry.clone()),
        (None, false) => bail!("logout: name a registry or use --all"),
    };
    match berth_registry::login::logout(&target, args.authfile.as_deref())? {
        LogoutOutcome::RemovedAll => outln!("Removed login credentials for all registries"),
        LogoutOutcome::Removed(key) => outln!("Removed login credentials for {key}"),
        LogoutOutcome::NotLoggedIn(key) => bail!("not logged into {key}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CopyArgs {
    /// Source: docker://REF, oci:PATH[:REF], oci-archive:PATH[:REF],
    /// docker-archive:PATH[:REF], containers-storage:NAME or a name in the store.
    source: String,
    /// Destination, in the same forms.
    destination: String,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// Require HTTPS and verified certificates for a docker:// source.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    src_tls_verify: Option<bool>,
    /// Require HTTPS and verified certificates for a docker:// destination.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    dest_tls_verify: Option<bool>,
    /// Credentials USERNAME:PASSWORD for the source registry.
    #[arg(long, value_name = "USER:PASS")]
    src_creds: Option<String>,
    /// Credentials USERNAME:PASSWORD for the destination registry.
    #[arg(long, value_name = "USER:PASS")]
    dest_creds: Option<String>,
    /// Path of the authentication file.
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
    /// Policy file for the trust check of the source (Skopeo's --policy is accepted too).
    #[arg(long, alias = "policy", value_name = "FILE")]
    signature_policy: Option<PathBuf>,
    /// Write the digest of the copied manifest to this file.
    #[arg(long, value_name = "FILE")]
    digestfile: Option<PathBuf>,
    /// Copy a manifest list with every image in it (docker:// to docker://), not one
    /// platform.
    #[arg(short, long)]
    all: bool,
    /// Which images of a manifest list to copy: system (the host's platform, default) or all
    /// (as --all).
    #[arg(long, value_name = "WHICH")]
    multi_arch: Option<String>,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn copy(ctx: &Context, args: CopyArgs) -> Result<ExitCode> {
    let reporter = Reporter::new(args.quiet);
    let src = Location::parse(&args.source)?;
    let dst = Location::parse(&args.destination)?;
    let connect = |tls: Option<bool>, creds: Option<&str>| -> Result<ConnectOptions> {
        Ok(ConnectOptions {
            tls_verify: tls,
            authfile: args.authfile.clone(),
            creds: creds.map(Credentials::parse).transpose()?,
            cert_dir: None,
        })
    };
    let opts = CopyOptions {
        source: PullOptions {
            connect: connect(args.src_tls_verify, args.src_creds.as_deref())?,
            signature_policy: args.signature_policy.clone(),
            registries_d: args.sign.registries_d.clone(),
            observer: reporter.observer(),
            ..PullOptions::default()
        },
        destination: connect(args.dest_tls_verify, args.dest_creds.as_deref())?,
        sign: args.sign.options()?,
        all: match args.multi_arch.as_deref() {
            None | Some("system") => args.all,
            Some("all") => true,
            Some(other) => bail!("--multi-arch={other}: use system or all"),
        },
    };
    let store = ctx.store()?;
    let print = |line: &str| reporter.line(line);
    let digest = copy_between(&store, &src, &dst, &opts, &print)
        .with_context(|| format!("copying {} to {}", args.source, args.destination))?;
    if let Some(f) = &args.digestfile {
        std::fs::write(f, digest.to_string())
            .with_context(|| format!("writing {}", f.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct SearchArgs {
    /// What to look for: [REGISTRY/]TEXT.
    term: String,
    /// Most results per registry.
    #[arg(long, default_value_t = 25)]
    limit: usize,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
}

pub fn search(_ctx: &Context, args: SearchArgs) -> Result<ExitCode> {
    let opts = args.connect.options(args.creds.as_deref())?;
    let names = berth_registry::search::search(&args.term, args.limit, &opts)
        .with_context(|| format!("searching {}", args.term))?;
    // As Podman: nothing at all, not even the header, when nothing was found (or no registry
    // was searched).
    if names.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!("NAME");
    for n in names {
        outln!("{n}");
    }
    Ok(ExitCode::SUCCESS)
}
