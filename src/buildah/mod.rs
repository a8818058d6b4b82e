//! `berth buildah …`: Buildah's verbs for scripted builds, under one group so that they do
//! not clash with Podman's (`run`, `rm`, `mount`, `commit`, `inspect` mean other things at
//! the top level) and so that `alias buildah='berth buildah'` runs Buildah's scripts as
//! written. Flags, output and exit codes are Buildah 1.28's; every operation is a call into
//! `berth_build::verbs`, and `images`, `tag` and `push` are berth's own commands.
//! `show` prints `containers` and `inspect`; `config_args` holds `config`'s flags.

mod config_args;
mod show;

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};

use anyhow::{bail, Context as _, Result};
use berth_build::verbs::{self, Records};
use berth_build::Format;
use berth_registry::pull::PullOptions;
use berth_registry::pull_policy::PullPolicy;
use berth_registry::push::{push_destination, PushOptions};
use berth_run::runtime::{ContainerStdio, TtySink};
use clap::{Args, Subcommand};

use crate::images::{ImagesArgs, TagArgs};
use crate::registry::{ConnectArgs, PushArgs, SignArgs};
use crate::stdio::OnClosed;
use crate::Context;
use config_args::ConfigArgs;
use show::{ContainersArgs, InspectArgs};

#[derive(Subcommand)]
pub enum BuildahCommand {
    /// Create a working container from an image (or `scratch`).
    From(FromArgs),
    /// Run a command in a working container.
    Run(RunArgs),
    /// Copy files into a working container.
    Copy(CopyArgs),
    /// Copy files, URLs and (extracted) archives into a working container.
    Add(CopyArgs),
    /// Change a working container's image configuration.
    Config(Box<ConfigArgs>),
    /// Create an image from a working container.
    Commit(CommitArgs),
    /// List working containers.
    #[command(alias = "ls", alias = "ps")]
    Containers(ContainersArgs),
    /// Mount a working container's root filesystem (none given: list mounted ones).
    Mount(MountArgs),
    /// Unmount working containers.
    #[command(alias = "unmount")]
    Umount(UmountArgs),
    /// Remove working containers.
    #[command(alias = "delete")]
    Rm(RmArgs),
    /// Show a working container's (or an image's) configuration, as Buildah's JSON.
    Inspect(InspectArgs),
    /// List images in the store (`berth images`).
    Images(ImagesArgs),
    /// Add names to an image (`berth tag`).
    Tag(TagArgs),
    /// Push an image to a registry (`berth push`).
    Push(PushArgs),
}

impl BuildahCommand {
    pub fn on_closed(&self) -> OnClosed {
        match self {
            BuildahCommand::Containers(_)
            | BuildahCommand::Inspect(_)
            | BuildahCommand::Images(_) => OnClosed::Quit,
            _ => OnClosed::Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: BuildahCommand) -> Result<ExitCode> {
    match command {
        BuildahCommand::Images(a) => return crate::images::list(ctx, a),
        BuildahCommand::Tag(a) => return crate::images::tag(ctx, a),
        BuildahCommand::Push(a) => return crate::registry::push(ctx, a),
        BuildahCommand::Mount(a) => return mount(ctx, a),
        _ => {}
    }
    // As a plain user every other verb works in berth's user namespace, as `build` does.
    crate::containers::enter(ctx)?;
    match command {
        BuildahCommand::From(a) => from(ctx, a),
        BuildahCommand::Run(a) => run(ctx, a),
        BuildahCommand::Copy(a) => copy(ctx, a, false),
        BuildahCommand::Add(a) => copy(ctx, a, true),
        BuildahCommand::Config(a) => {
            let store = ctx.store()?;
            let name = a.container().to_string();
            verbs::config::config(&store, &name, &a.options())?;
            Ok(ExitCode::SUCCESS)
        }
        BuildahCommand::Commit(a) => commit(ctx, a),
        BuildahCommand::Containers(a) => show::containers(ctx, a),
        BuildahCommand::Umount(a) => umount(ctx, a),
        BuildahCommand::Rm(a) => rm(ctx, a),
        BuildahCommand::Inspect(a) => show::inspect(ctx, a),
        BuildahCommand::Images(_)
        | BuildahCommand::Tag(_)
        | BuildahCommand::Push(_)
        | BuildahCommand::Mount(_) => unreachable!("dispatched above"),
    }
}

#[derive(Args)]
pub struct FromArgs {
    /// The image, or `scratch`.
    image: String,
    /// The working container's name (default: IMAGE-working-container).
    #[arg(long)]
    name: Option<String>,
    /// When to pull: missing (default), always, never, true (always), false (never).
    #[arg(long, value_name = "POLICY", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pull: Option<String>,
    /// Pull the image even if it is in the store.
    #[arg(long)]
    pull_always: bool,
    /// Never pull: use the image in the store.
    #[arg(long)]
    pull_never: bool,
    /// Print nothing while pulling.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
    /// Policy file for the trust check.
    #[arg(long, value_name = "FILE")]
    signature_policy: Option<PathBuf>,
}

fn from(ctx: &Context, a: FromArgs) -> Result<ExitCode> {
    let pull = match (a.pull.as_deref(), a.pull_always, a.pull_never) {
        (_, true, _) => PullPolicy::Always,
        (_, _, true) => PullPolicy::Never,
        (None, ..) => PullPolicy::Missing,
        (Some(p), ..) => PullPolicy::parse_with_booleans(p).map_err(anyhow::Error::msg)?,
    };
    let opts = verbs::from::FromOptions {
        name: a.name,
        pull,
        pull_options: PullOptions {
            connect: a.connect.options(a.creds.as_deref())?,
            signature_policy: a.signature_policy,
            ..PullOptions::default()
        },
    };
    let store = ctx.store()?;
    let quiet = a.quiet;
    let mut pulling = |image: &str| {
        if !quiet {
            errln!("Resolving {image:?} and pulling it");
        }
    };
    let c = verbs::from::from(&store, &a.image, &opts, &mut pulling)?;
    outln!("{}", c.name);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct RunArgs {
    /// Set an environment variable (KEY=VALUE).
    #[arg(short, long, value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Mount (type=bind|tmpfs|cache,source=…,target=…[,ro]), as RUN --mount.
    #[arg(long, value_name = "MOUNT")]
    mount: Vec<String>,
    /// Bind a volume (HOST:CONTAINER[:OPTIONS]).
    #[arg(short, long, value_name = "VOLUME")]
    volume: Vec<String>,
    /// Network: host, none, private, or a network's name.
    #[arg(long, alias = "net", value_name = "MODE")]
    network: Option<String>,
    /// User (and group) to run as.
    #[arg(long)]
    user: Option<String>,
    /// Working directory of the command.
    #[arg(long, value_name = "DIR")]
    workingdir: Option<String>,
    /// OCI runtime (crun, runc or a path).
    #[arg(long)]
    runtime: Option<String>,
    /// The working container (name or id).
    container: String,
    /// The command and its arguments (after `--` when they begin with `-`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn run(ctx: &Context, a: RunArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let opts = verbs::run::RunVerbOptions {
        command: a.command,
        env: a.env,
        user: a.user,
        workingdir: a.workingdir,
        network: berth_build::run_network::run_network(a.network.as_deref())?,
        mounts: a.mount,
        volumes: a.volume,
        cwd: std::env::current_dir()?,
        runtime: a.runtime,
        runroot: crate::containers::runroot(ctx),
    };
    let stdio = ContainerStdio {
        stdin: Stdio::inherit(),
        stdout: Stdio::inherit(),
        stderr: Stdio::inherit(),
        tty: TtySink::User { interactive: false },
    };
    let _relay = crate::stdio::relay();
    match verbs::run::run(&store, &a.container, &opts, stdio)? {
        Some(0) => Ok(ExitCode::SUCCESS),
        // As Buildah: the command's own exit code.
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => bail!("the command's exit status is unknown"),
    }
}

#[derive(Args)]
pub struct CopyArgs {
    /// Owner of the copied files (USER[:GROUP]).
    #[arg(long, value_name = "USER:GROUP")]
    chown: Option<String>,
    /// Mode of the copied files (octal).
    #[arg(long, value_name = "MODE")]
    chmod: Option<String>,
    /// Copy from this working container or image instead of the host.
    #[arg(long, value_name = "CONTAINER|IMAGE")]
    from: Option<String>,
    /// Print nothing.
    #[arg(short, long)]
    quiet: bool,
    /// The working container (name or id).
    container: String,
    /// SOURCE… [DESTINATION] (one path alone is copied to the working directory).
    #[arg(required = true)]
    paths: Vec<String>,
}

fn copy(ctx: &Context, a: CopyArgs, add: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let mut sources = a.paths;
    let dest = if sources.len() > 1 {
        sources.pop()
    } else {
        None
    };
    let opts = verbs::copy::CopyOptions {
        add,
        sources,
        dest,
        chown: a.chown,
        chmod: a.chmod,
        from: a.from,
        cwd: std::env::current_dir()?,
        runroot: crate::containers::runroot(ctx),
    };
    verbs::copy::copy(&store, &a.container, &opts)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CommitArgs {
    /// Image format: oci (default) or docker.
    #[arg(short, long, env = "BUILDAH_FORMAT", default_value = "oci")]
    format: String,
    /// Write the image as one layer.
    #[arg(long)]
    squash: bool,
    /// Remove the working container once committed.
    #[arg(long)]
    rm: bool,
    /// Created times and file times (seconds since the epoch), for reproducible images.
    #[arg(long, value_name = "SECONDS")]
    timestamp: Option<i64>,
    /// Write the image without history.
    #[arg(long)]
    omit_history: bool,
    /// Print only the image id.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for a `docker://` destination.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
    /// The working container (name or id).
    container: String,
    /// The image's name, or `docker://REGISTRY/NAME[:TAG]` to commit straight into a registry
    /// (signed there with `--sign-by`).
    image: Option<String>,
}

fn commit(ctx: &Context, a: CommitArgs) -> Result<ExitCode> {
    let sign = a.sign.options()?;
    let registry = a.image.as_deref().and_then(|i| i.strip_prefix("docker://"));
    if registry.is_none() && !sign.is_empty() {
        bail!(
            "commit --sign-by: berth's store keeps no signatures: commit to \
             docker://REGISTRY/NAME to sign the image there, or sign when pushing \
             (`berth buildah push --sign-by`)"
        );
    }
    let format: Format = a.format.parse()?;
    let store = ctx.store()?;
    let names = match registry {
        Some(_) => Vec::new(),
        None => a.image.clone().into_iter().collect(),
    };
    let opts = verbs::commit::CommitOptions {
        names,
        format,
        squash: a.squash,
        rm: a.rm,
        timestamp: a.timestamp,
        omit_history: a.omit_history,
    };
    let image = verbs::commit::commit(&store, &a.container, &opts)?;
    if let Some(dest) = registry {
        // As Buildah's commit to docker://: the image goes to the registry (through push,
        // signed by push's signing code), none stays in the store.
        let dest = push_destination(dest, Some(dest))?;
        let push = PushOptions {
            connect: a.connect.options(a.creds.as_deref())?,
            sign,
            ..PushOptions::default()
        };
        let quiet = a.quiet;
        let print = |line: &str| {
            if !quiet {
                errln!("{line}");
            }
        };
        berth_registry::push::push(&store, image.id.as_ref(), &dest, &push, &print)
            .with_context(|| format!("committing to docker://{dest}"))?;
        store.remove_image(image.id.as_ref(), false)?;
    }
    outln!("{}", image.hex_id());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct MountArgs {
    /// Working containers to mount (none: list the mounted ones).
    containers: Vec<String>,
}

fn mount(ctx: &Context, a: MountArgs) -> Result<ExitCode> {
    if berth_run::rootless::is_rootless() && !berth_run::rootless::in_user_namespace() {
        bail!(
            "cannot mount a working container as a plain user outside berth's user namespace: \
             run it inside `berth unshare` (the mount lives in that namespace)"
        );
    }
    let store = ctx.store()?;
    if a.containers.is_empty() {
        for (c, at) in verbs::mount::mounted(&store)? {
            outln!("{} {}", c.name, at.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let records = Records::new(&store);
    let many = a.containers.len() > 1;
    let mut failed = None;
    for name in &a.containers {
        match records
            .find(name)
            .and_then(|c| verbs::mount::mount(&store, &c))
        {
            Ok(at) if many => outln!("{name} {}", at.display()),
            Ok(at) => outln!("{}", at.display()),
            Err(e) => {
                errln!("Error: {e}");
                failed = Some(e);
            }
        }
    }
    Ok(if failed.is_some() {
        ExitCode::from(crate::EXIT_BERTH_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Args)]
pub struct UmountArgs {
    /// Unmount every working container.
    #[arg(short, long)]
    all: bool,
    /// Working containers to unmount.
    containers: Vec<String>,
}

fn umount(ctx: &Context, a: UmountArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    each(&store, a.all, &a.containers, "umount", |c| {
        verbs::mount::umount(&store, c)
    })
}

#[derive(Args)]
pub struct RmArgs {
    /// Remove every working container.
    #[arg(short, long)]
    all: bool,
    /// Working containers to remove.
    containers: Vec<String>,
}

fn rm(ctx: &Context, a: RmArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    each(&store, a.all, &a.containers, "rm", |c| {
        verbs::mount::remove(&store, c)
    })
}

/// Do `f` to each named working container (or all), printing each one's id as Buildah does;
/// a missing one is an error line and exit 125 after the others are done.
fn each(
    store: &berth_image_store::Store,
    all: bool,
    names: &[String],
    verb: &str,
    f: impl Fn(&verbs::WorkingContainer) -> berth_build::Result<()>,
) -> Result<ExitCode> {
    let records = Records::new(store);
    if all != names.is_empty() {
        bail!("{verb}: give working containers, or --all");
    }
    let list = if all {
        records.list()?
    } else {
        let mut list = Vec::new();
        let mut failed = false;
        for n in names {
            match records.find(n) {
                Ok(c) => list.push(c),
                Err(e) => {
                    errln!("Error: {e}");
                    failed = true;
                }
            }
        }
        if failed {
            for c in &list {
                f(c)?;
                outln!("{}", c.id);
            }
            return Ok(ExitCode::from(crate::EXIT_BERTH_ERROR));
        }
        list
    };
    for c in &list {
        f(c)?;
        outln!("{}", c.id);
    }
    Ok(ExitCode::SUCCESS)
}
