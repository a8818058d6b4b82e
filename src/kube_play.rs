//! `kube play FILE|-` and `kube down FILE|-`: read the YAML, print the warnings and Podman
//! 4.3's report. The work is berth-kube's ([`berth_kube::play`], [`berth_kube::down`]); this
//! file gives it the images (pulled as `run` pulls them, or built with `--build` from a
//! directory named like the image, as Podman does).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use berth_kube::documents::{self, Documents, MAX_YAML_BYTES};
use berth_kube::play::PlayOptions;
use berth_registry::pull_policy::PullPolicy;
use berth_run::Engine;
use clap::Args;

use crate::containers::{enter, global_args, image_to_run, runroot};
use crate::Context;

#[derive(Args)]
pub struct PlayArgs {
    /// The Kubernetes YAML file (`-`: stdin).
    file: String,
    /// Remove the pods (and containers) of the same YAML first.
    #[arg(long)]
    replace: bool,
    /// Start the pods (default true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value = "true", default_missing_value = "true")]
    start: bool,
    /// The pods' network (as `pod create --network`).
    #[arg(long, alias = "net", value_name = "MODE")]
    network: Vec<String>,
    /// More ports to publish on every pod: `[[IP:][HOSTPORT]:]CTRPORT[/PROTO]`.
    #[arg(long, value_delimiter = ',', value_name = "PORTS")]
    publish: Vec<String>,
    /// A file holding a ConfigMap the YAML uses (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FILE")]
    configmap: Vec<PathBuf>,
    /// Build images from `<context-dir>/<image name>/Containerfile` (or Dockerfile): always
    /// with --build, when the image is missing without it, never with --build=false.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    build: Option<bool>,
    /// Where --build looks for image directories (default: the current directory).
    #[arg(long, value_name = "DIR")]
    context_dir: Option<PathBuf>,
    /// The containers' log driver (as `run --log-driver`).
    #[arg(long, value_name = "DRIVER")]
    log_driver: Option<String>,
    /// A log driver option (as `run --log-opt`, repeatable).
    #[arg(long, value_name = "OPT")]
    log_opt: Vec<String>,
    /// Do not write /etc/hosts in the pods: the image's stays.
    #[arg(long)]
    no_hosts: bool,
    /// Print no pull or build progress.
    #[arg(short, long)]
    quiet: bool,
    /// Require HTTPS and verify certificates when pulling.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    tls_verify: Option<bool>,
    /// Path of the authentication file.
    #[arg(long, value_name = "PATH")]
    authfile: Option<PathBuf>,
}

#[derive(Args)]
pub struct DownArgs {
    /// The Kubernetes YAML file `kube play` read (`-`: stdin).
    file: String,
    /// Also remove the volumes of the file's PersistentVolumeClaims and ConfigMaps.
    #[arg(long)]
    force: bool,
}

/// The YAML of `file` (`-`: stdin), at most [`MAX_YAML_BYTES`] read.
fn read_yaml(file: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = MAX_YAML_BYTES as u64 + 1;
    if file == "-" {
        std::io::stdin().take(limit).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(file)
            .with_context(|| format!("open {file}"))?
            .take(limit)
            .read_to_end(&mut bytes)
            .with_context(|| format!("read {file}"))?;
    }
    Ok(bytes)
}

fn parse(file: &str) -> Result<Documents> {
    documents::parse(&read_yaml(file)?)
}

pub fn play(ctx: &Context, a: PlayArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let docs = parse(&a.file)?;
    for w in &docs.warnings {
        errln!("{w}");
    }
    let mut config_maps = Vec::new();
    for f in &a.configmap {
        let bytes = read_yaml(&f.to_string_lossy())?;
        config_maps.push(documents::parse_configmap(&bytes).with_context(|| format!("{f:?}"))?);
    }
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let pull = berth_registry::pull::PullOptions {
        connect: berth_registry::connect::ConnectOptions {
            tls_verify: a.tls_verify,
            authfile: a.authfile.clone(),
            creds: None,
            cert_dir: None,
        },
        ..Default::default()
    };
    let context_dir = match &a.context_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let image = |name: &str, policy: &str| -> Result<String> {
        if let Some(dir) = build_dir(&context_dir, name) {
            let present = store.lookup_image(name).is_ok();
            if a.build == Some(true) || (a.build.is_none() && !present) {
                crate::build::build_tagged(ctx, &dir, name, a.quiet)?;
                return Ok(name.to_string());
            }
        }
        let policy: PullPolicy = policy.parse().map_err(anyhow::Error::msg)?;
        image_to_run(&store, name, policy, &pull, a.quiet)
    };
    let opts = PlayOptions {
        replace: a.replace,
        start: a.start,
        network: a.network,
        publish: a.publish,
        config_maps,
        image: &image,
        berth_exe: std::env::current_exe()?,
        global_args: global_args(ctx),
        create_command: std::env::args().collect(),
        defaults: berth_run::RunOptions {
            ulimits: crate::containers::default_ulimits()?,
            log: berth_run::options::LogConfig::parse(a.log_driver.as_deref(), &a.log_opt)?,
            // The members too, as Podman's share the infra container's (absent) file.
            use_image_hosts: a.no_hosts,
            ..berth_run::RunOptions::default()
        },
        no_hosts: a.no_hosts,
    };
    let report = berth_kube::play::play(&engine, &docs, &opts)?;
    if !report.volumes.is_empty() {
        outln!("Volumes:");
        for v in &report.volumes {
            outln!("{v}");
        }
    }
    for pod in &report.pods {
        outln!("Pod:");
        outln!("{}", pod.id);
        match pod.containers.len() {
            0 => continue,
            1 => outln!("Container:"),
            _ => outln!("Containers:"),
        }
        for c in &pod.containers {
            outln!("{c}");
        }
        outln!();
    }
    Ok(ExitCode::SUCCESS)
}

/// Podman's build directory for `image`: `<dir>/<last path part, no tag>/Containerfile` (or
/// `Dockerfile`), when there is one.
fn build_dir(dir: &Path, image: &str) -> Option<PathBuf> {
    let name = image.split(['@']).next().unwrap_or(image);
    let name = name.rsplit('/').next().unwrap_or(name);
    let name = name.split(':').next().unwrap_or(name);
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let sub = dir.join(name);
    ["Containerfile", "Dockerfile"]
        .iter()
        .any(|f| sub.join(f).is_file())
        .then_some(sub)
}

pub fn down(ctx: &Context, a: DownArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let docs = parse(&a.file)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let report = berth_kube::down::down(&engine, &docs, false, a.force)?;
    outln!("Pods stopped:");
    for id in &report.pods {
        outln!("{id}");
    }
    outln!("Pods removed:");
    for id in &report.pods {
        outln!("{id}");
    }
    if !report.volumes.is_empty() {
        outln!("Volumes removed:");
        for v in &report.volumes {
            outln!("{v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
