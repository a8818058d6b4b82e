//! Container commands: `run`, `create`, `start`, `stop`, `kill`, `rm`, `ps`, `logs`, `wait`,
//! `top`, `container …`, and the hidden `container-monitor` that supervises a detached
//! container. [`options`] turns flags into a [`berth_run::CreateRequest`]; [`show`] holds `ps`
//! and `inspect` output; [`volumes`] is `volume …`; [`cp`] is `cp`; [`pause`] is `pause`,
//! `unpause` and `rename`; [`attach`] is `attach`; [`diff`] is `diff`, `container diff` and
//! `image diff`; [`mount`] is `mount` and `umount`; [`volume_archive`] is `volume
//! export|import`; [`exists`] is `image|container|volume exists`; [`init`] is `init`.

pub mod attach;
mod conf_defaults;
pub mod cp;
pub mod diff;
pub mod exec;
pub mod exists;
pub mod init;
pub mod mount;
mod options;
pub mod pause;
pub mod port;
pub mod ps;
mod run_platform;
pub mod show;
pub mod stats;
pub mod volume_archive;
pub mod volumes;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use berth_registry::pull_policy::{self, PullPolicy};
use berth_run::runtime::ContainerStdio;
use berth_run::{Engine, RunError, State};
use clap::{Args, Subcommand};

use crate::stdio::OnClosed;
use crate::Context;
pub(crate) use conf_defaults::default_ulimits;
pub use options::CreateArgs;
pub use ps::PsArgs;
pub use show::InspectArgs;

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Run a command in a new container.
    Run(RunArgs),
    /// Create a container without starting it.
    Create(CreateArgs),
    /// Start containers.
    Start(StartArgs),
    /// Make containers in the runtime without starting them (state initialized).
    Init(init::InitArgs),
    /// Run a process in a running container.
    Exec(exec::ExecArgs),
    /// Attach to a running container's terminal or output.
    Attach(attach::AttachArgs),
    /// Show a container's changes to its image's file system (A, C, D).
    Diff(diff::DiffArgs),
    /// Mount containers' root file systems and print the mount points (none: list them).
    Mount(mount::MountArgs),
    /// Unmount containers' root file systems.
    #[command(alias = "unmount")]
    Umount(mount::UmountArgs),
    /// Stop running containers (SIGTERM, then SIGKILL after a timeout).
    Stop(StopArgs),
    /// Stop (if running) and start containers again, detached.
    Restart(StopArgs),
    /// Send a signal to running containers.
    Kill(KillArgs),
    /// Pause every process of containers (the cgroup freezer).
    Pause(pause::PauseArgs),
    /// Unpause paused containers.
    Unpause(pause::PauseArgs),
    /// Rename a container.
    Rename(pause::RenameArgs),
    /// Remove every container that is not running.
    Prune(PruneArgs),
    /// Copy files between a container and the host (or a tar stream, or a container).
    Cp(cp::CpArgs),
    /// Display the running processes of a container.
    Top(TopArgs),
    /// List a container's published ports.
    Port(port::PortArgs),
    /// Display containers' resource usage (CPU, memory, I/O, PIDs).
    Stats(stats::StatsArgs),
    /// Create a new image from a container's changes.
    Commit(CommitArgs),
    /// Write a container's filesystem as a tar archive.
    Export(ExportArgs),
    /// Remove containers.
    Rm(RmArgs),
    /// List containers.
    #[command(alias = "ls", alias = "list")]
    Ps(PsArgs),
    /// Show a container's output.
    Logs(LogsArgs),
    /// Wait for containers to stop and print their exit codes.
    Wait(WaitArgs),
    /// Display information about containers (JSON).
    Inspect(InspectArgs),
    /// Exit 0 when a container exists, 1 when it does not.
    Exists(crate::containers::exists::ExistsArgs),
    /// Hold berth's rootless user namespace (started by berth itself).
    #[command(hide = true)]
    UsernsPause,
    /// Forward a rootless bridge container's published ports (started by berth itself).
    #[command(hide = true)]
    Rootlessport { config: String },
}

impl ContainerCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        use OnClosed::{Finish, Quit};
        match self {
            ContainerCommand::Cp(_)
            | ContainerCommand::Top(_)
            | ContainerCommand::Port(_)
            | ContainerCommand::Stats(_)
            | ContainerCommand::Export(_)
            | ContainerCommand::Ps(_)
            | ContainerCommand::Logs(_)
            | ContainerCommand::Wait(_)
            | ContainerCommand::Diff(_)
            | ContainerCommand::Exists(_)
            | ContainerCommand::Inspect(_) => Quit,
            ContainerCommand::Run(_)
            | ContainerCommand::Create(_)
            | ContainerCommand::Start(_)
            | ContainerCommand::Init(_)
            | ContainerCommand::Exec(_)
            | ContainerCommand::Attach(_)
            | ContainerCommand::Mount(_)
            | ContainerCommand::Umount(_)
            | ContainerCommand::Stop(_)
            | ContainerCommand::Restart(_)
            | ContainerCommand::Kill(_)
            | ContainerCommand::Pause(_)
            | ContainerCommand::Unpause(_)
            | ContainerCommand::Rename(_)
            | ContainerCommand::Prune(_)
            | ContainerCommand::Commit(_)
            | ContainerCommand::Rm(_)
            | ContainerCommand::UsernsPause
            | ContainerCommand::Rootlessport { .. } => Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: ContainerCommand) -> Result<ExitCode> {
    match command {
        ContainerCommand::UsernsPause => berth_run::rootless::pause_forever(),
        ContainerCommand::Rootlessport { config } => {
            match berth_network::port_forward::serve(&config)? {}
        }
        ContainerCommand::Run(a) => run(ctx, a),
        ContainerCommand::Create(a) => create(ctx, a),
        ContainerCommand::Start(a) => start(ctx, a),
        ContainerCommand::Init(a) => init::init(ctx, a),
        ContainerCommand::Exec(a) => exec::exec(ctx, a),
        ContainerCommand::Attach(a) => attach::attach(ctx, a),
        ContainerCommand::Diff(a) => diff::diff(ctx, a, diff::DiffOf::Container),
        ContainerCommand::Mount(a) => mount::mount(ctx, a),
        ContainerCommand::Umount(a) => mount::umount(ctx, a),
        ContainerCommand::Stop(a) => stop(ctx, a),
        ContainerCommand::Restart(a) => restart(ctx, a),
        ContainerCommand::Kill(a) => kill(ctx, a),
        ContainerCommand::Pause(a) => pause::pause(ctx, a),
        ContainerCommand::Unpause(a) => pause::unpause(ctx, a),
        ContainerCommand::Rename(a) => pause::rename(ctx, a),
        ContainerCommand::Prune(a) => prune(ctx, a),
        ContainerCommand::Cp(a) => cp::cp(ctx, a),
        ContainerCommand::Top(a) => top(ctx, a),
        ContainerCommand::Port(a) => port::port(ctx, a),
        ContainerCommand::Stats(a) => stats::stats(ctx, a),
        ContainerCommand::Commit(a) => commit(ctx, a),
        ContainerCommand::Export(a) => export(ctx, a),
        ContainerCommand::Rm(a) => rm(ctx, a),
        ContainerCommand::Ps(a) => ps::ps(ctx, a),
        ContainerCommand::Logs(a) => logs(ctx, a),
        ContainerCommand::Wait(a) => wait(ctx, a),
        ContainerCommand::Inspect(a) => show::inspect(ctx, a),
        ContainerCommand::Exists(a) => crate::containers::exists::container(ctx, a),
    }
}

/// The run root chosen by `--runroot` or the default.
pub(crate) fn runroot(ctx: &Context) -> PathBuf {
    ctx.runroot
        .clone()
        .unwrap_or_else(berth_run::default_runroot)
}

/// As a plain user, enter berth's user namespace (made on first use; see
/// [`berth_run::rootless`]); nothing as root. First thing every container command does, while
/// the process is single-threaded.
pub(crate) fn enter(ctx: &Context) -> Result<()> {
    Ok(berth_run::rootless::enter(&runroot(ctx))?)
}

#[derive(Args)]
pub struct UnshareArgs {
    /// Command and arguments (default: $SHELL).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

/// `berth unshare [CMD…]`: run a command in berth's user namespace (uid 0 there is the user,
/// 1…65536 the subordinate range), as `podman unshare`.
pub fn unshare(ctx: &Context, args: UnshareArgs) -> Result<ExitCode> {
    let err = berth_run::rootless::unshare_exec(&ctx.root(), &runroot(ctx), &args.command);
    fail(err)
}

/// Report `err` as Podman does: one `Error:` line, exit 126/127 for a command that cannot be
/// invoked or found, else 125.
fn fail(err: RunError) -> Result<ExitCode> {
    let code = err.exit_code();
    if code == 125 {
        return Err(err.into());
    }
    errln!("Error: {}", err.to_string().replace('\n', " "));
    Ok(ExitCode::from(code))
}

/// A `--format` that takes only `json` (`diff`, `mount`): whether it was given.
fn json_only(format: Option<&str>) -> Result<bool> {
    match format {
        None => Ok(false),
        Some("json") => Ok(true),
        Some(other) => bail!("invalid format {other:?}: only json is supported"),
    }
}

/// The global flags a monitor process needs to find the same store and run root.
pub(crate) fn global_args(ctx: &Context) -> Vec<OsString> {
    vec![
        "--root".into(),
        ctx.root().into_os_string(),
        "--runroot".into(),
        runroot(ctx).into_os_string(),
    ]
}

/// The detach keys: `flag` when given, else containers.conf's `[engine] detach_keys`, else
/// Podman's default (a malformed containers.conf is an error; bad keys an `Err` inside).
fn detach_keys(flag: Option<&str>) -> Result<berth_run::Result<Vec<u8>>> {
    let keys = match flag {
        Some(k) => k.to_string(),
        None => {
            berth_trust::containers_conf::ContainersConf::load(berth_run::rootless::is_rootless())?
                .detach_keys
                .unwrap_or_else(|| berth_run::detach::DEFAULT_DETACH_KEYS.to_string())
        }
    };
    Ok(berth_run::detach::parse(&keys))
}

#[derive(Args)]
pub struct RunArgs {
    /// Run in the background and print the container id.
    #[arg(short, long)]
    detach: bool,
    /// The key sequence that detaches from an interactive terminal container (Podman's
    /// syntax: `ctrl-<letter>`, `ctrl-@`, `ctrl-[`…, or a character, comma-separated; empty:
    /// none). Default: containers.conf's `[engine] detach_keys`, else `ctrl-p,ctrl-q`.
    #[arg(long, value_name = "KEYS")]
    detach_keys: Option<String>,
    #[command(flatten)]
    create: CreateArgs,
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<ExitCode> {
    args.create.platform.check_before_entering()?;
    enter(ctx)?;
    let interactive = args.create.interactive;
    if interactive && args.create.tty && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        // Podman's warning, word for word; the container still gets its terminal.
        tracing::warn!(
            "The input device is not a TTY. The --tty and --interactive flags might not work properly"
        );
    }
    let mut req = match args.create.request() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let keys = match detach_keys(args.detach_keys.as_deref())? {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let store = ctx.store()?;
    if !args.create.rootfs {
        req.image = ensure_image(&store, &args.create)?;
    }
    // Started right away: no unmount and mount again between create and start.
    req.keep_mounted = true;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = match engine.create(&req) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if args.detach {
        let exe = std::env::current_exe()?;
        return match engine.start_detached(&c, &exe, &global_args(ctx)) {
            Ok(()) => {
                outln!("{}", c.id);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                if c.auto_remove {
                    let _ = remove_quietly(&engine, &c.id);
                }
                fail(e)
            }
        };
    }
    berth_run::signals::install_signal_forwarding();
    if interactive && args.create.tty {
        // Under its monitor, so the detach keys can leave it running.
        let exe = std::env::current_exe()?;
        return match engine.run_interactive(&c, &exe, &global_args(ctx), keys) {
            Ok(Some(code)) => Ok(ExitCode::from(code.map(|c| c as u8).unwrap_or(125))),
            Ok(None) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                if c.auto_remove {
                    let _ = remove_quietly(&engine, &c.id);
                }
                fail(e)
            }
        };
    }
    // A pod's infra container, or another whose namespaces it shares, runs first.
    if let Err(e) = engine.start_dependencies(&c, &std::env::current_exe()?, &global_args(ctx)) {
        return fail(e);
    }
    match engine.run_attached(&c, ContainerStdio::inherit(interactive)) {
        Ok(code) => {
            // `--restart`: it goes on in the background, as Podman's.
            let exe = std::env::current_exe()?;
            if let Err(e) = engine.restart_detached_if_due(&c, code, &exe, &global_args(ctx)) {
                errln!("Error: restarting container {}: {e}", c.name);
            }
            Ok(ExitCode::from(code.map(|c| c as u8).unwrap_or(125)))
        }
        Err(e) => {
            if c.auto_remove {
                let _ = remove_quietly(&engine, &c.id);
            }
            fail(e)
        }
    }
}

/// The image to run, pulled first as `--pull` says (through the trust gate). Returns what
/// to look the image up by: the name as given, or the pulled image's name or id.
fn ensure_image(store: &berth_image_store::Store, args: &CreateArgs) -> Result<String> {
    let policy: PullPolicy = args.pull.parse().map_err(anyhow::Error::msg)?;
    let (platform, policy) = run_platform::choose(store, &args.image, policy, &args.platform)?;
    let opts = berth_registry::pull::PullOptions {
        platform,
        connect: berth_registry::connect::ConnectOptions {
            tls_verify: args.tls_verify,
            authfile: args.authfile.clone(),
            creds: None,
            cert_dir: None,
        },
        signature_policy: args.signature_policy.clone(),
        registries_d: args.registries_d.clone(),
        ..Default::default()
    };
    image_to_run(store, &args.image, policy, &opts, false)
}

/// `image` pulled first as `policy` says (progress on stderr unless `quiet`); what to look it
/// up by (the `run`/`create` path, which `kube play` takes too).
pub(crate) fn image_to_run(
    store: &berth_image_store::Store,
    image: &str,
    policy: PullPolicy,
    opts: &berth_registry::pull::PullOptions,
    quiet: bool,
) -> Result<String> {
    let name = image.strip_prefix("docker://").unwrap_or(image);
    let print = |line: &str| {
        if !quiet {
            errln!("{line}");
        }
    };
    let record = pull_policy::ensure_image(store, image, policy, opts, &print)
        .with_context(|| format!("pulling {name}"))?;
    Ok(match record {
        // A `docker://` name is not a store name: run what was pulled.
        Some(record) if image != name => record
            .names
            .first()
            .map_or_else(|| record.id.digest().to_string(), ToString::to_string),
        _ => name.to_string(),
    })
}

fn remove_quietly(engine: &Engine<'_>, id: &str) -> berth_run::Result<()> {
    let c = engine.records().get(id)?;
    engine.remove_with(&c, true, true)
}

pub fn create(ctx: &Context, args: CreateArgs) -> Result<ExitCode> {
    args.platform.check_before_entering()?;
    enter(ctx)?;
    let mut req = match args.request() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let store = ctx.store()?;
    if !args.rootfs {
        req.image = ensure_image(&store, &args)?;
    }
    let engine = Engine::new(&store, &runroot(ctx))?;
    match engine.create(&req) {
        Ok(c) => {
            outln!("{}", c.id);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(e),
    }
}

#[derive(Args)]
pub struct StartArgs {
    /// Attach: run in the foreground with the container's output and exit code.
    #[arg(short, long)]
    attach: bool,
    /// Keep stdin open (with --attach).
    #[arg(short, long)]
    interactive: bool,
    /// The key sequence that detaches from an interactive terminal container (as `run`'s).
    #[arg(long, value_name = "KEYS")]
    detach_keys: Option<String>,
    /// Start every container that is not running (with --filter: those it keeps).
    #[arg(long, conflicts_with = "attach")]
    all: bool,
    /// With --all: only the containers whose restart policy is this
    /// (`restart-policy=always`, what a boot-time unit starts).
    #[arg(long, value_name = "FILTER", requires = "all")]
    filter: Vec<String>,
    /// Containers (name or id).
    #[arg(required_unless_present = "all")]
    containers: Vec<String>,
}

pub fn start(ctx: &Context, mut args: StartArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    if args.all {
        args.containers = engine
            .startable(&args.filter)?
            .into_iter()
            .map(|c| c.id)
            .collect();
    }
    if args.attach {
        if args.containers.len() != 1 {
            bail!("start --attach takes exactly one container");
        }
        let c = engine.get(&args.containers[0])?;
        let keys = match detach_keys(args.detach_keys.as_deref())? {
            Ok(k) => k,
            Err(e) => return fail(e),
        };
        berth_run::signals::install_signal_forwarding();
        if args.interactive && c.options.terminal {
            let exe = std::env::current_exe()?;
            return match engine.run_interactive(&c, &exe, &global_args(ctx), keys) {
                Ok(code) => Ok(ExitCode::from(
                    code.map_or(0, |c| c.map_or(125, |c| c as u8)),
                )),
                Err(e) => fail(e),
            };
        }
        return match engine.run_attached(&c, ContainerStdio::inherit(args.interactive)) {
            Ok(code) => Ok(ExitCode::from(code.map(|c| c as u8).unwrap_or(125))),
            Err(e) => fail(e),
        };
    }
    let exe = std::env::current_exe()?;
    for name in &args.containers {
        let c = engine.get(name)?;
        if c.state == State::Running {
            outln!("{name}");
            continue;
        }
        if let Err(e) = engine.start_detached(&c, &exe, &global_args(ctx)) {
            return fail(e);
        }
        outln!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL.
    #[arg(short = 't', long = "time", default_value_t = 10)]
    time: u64,
    /// Containers (name or id).
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn stop(ctx: &Context, args: StopArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    for name in &args.containers {
        let c = engine.get(name)?;
        engine.stop(&c, Duration::from_secs(args.time))?;
        outln!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn restart(ctx: &Context, args: StopArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let exe = std::env::current_exe()?;
    for name in &args.containers {
        let c = engine.get(name)?;
        match engine.restart(&c, Duration::from_secs(args.time), &exe, &global_args(ctx)) {
            Ok(Some(_)) => {}
            Ok(None) => {
                bail!("container {name} was removed as it stopped (--rm): nothing to start again")
            }
            Err(e) => return fail(e),
        }
        outln!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (berth never asks; accepted for compatibility).
    #[arg(short, long)]
    force: bool,
}

pub fn prune(ctx: &Context, _args: PruneArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    for id in engine.prune_stopped()? {
        outln!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct TopArgs {
    /// Container (name or id).
    container: String,
    /// Descriptors (Podman's: user, pid, ppid, pcpu, etime, tty, time, args, comm, group,
    /// nice, pgid, state, stime, vsz, rss, hpid, huser, hgroup), separate or comma-separated.
    descriptors: Vec<String>,
}

/// `berth top C [DESCRIPTORS…]`: the container's processes, as `podman top`.
pub fn top(ctx: &Context, args: TopArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let descriptors = berth_run::top::parse_descriptors(&args.descriptors)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    let top = engine.top(&c, &descriptors)?;
    let headers: Vec<&str> = top.headers.iter().map(String::as_str).collect();
    crate::output::print_table(&headers, &top.rows);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CommitArgs {
    /// Apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, LABEL, USER,
    /// WORKDIR, EXPOSE, VOLUME, STOPSIGNAL).
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    change: Vec<String>,
    /// Commit message (history comment).
    #[arg(short, long)]
    message: Option<String>,
    /// Author.
    #[arg(short, long)]
    author: Option<String>,
    /// Print only the image id.
    #[arg(short, long)]
    quiet: bool,
    /// Container (name or id).
    container: String,
    /// Name for the new image.
    image: Option<String>,
}

pub fn commit(ctx: &Context, args: CommitArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    let img = engine.commit(
        &c,
        &berth_run::commit::CommitOptions {
            name: args.image,
            changes: args.change,
            message: args.message,
            author: args.author,
        },
    )?;
    let _ = args.quiet;
    outln!("{}", img.id.digest());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ExportArgs {
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Container (name or id).
    container: String,
}

pub fn export(ctx: &Context, args: ExportArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            engine.export(&c, file)?.sync_all()?;
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                bail!("refusing to write a tar archive to a terminal: use -o FILE or a pipe");
            }
            engine.export(&c, crate::stdio::stdout())?.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send (name such as TERM or SIGTERM, or number).
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    /// Containers (name or id).
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn kill(ctx: &Context, args: KillArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let signal = berth_run::signals::parse_signal(&args.signal)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    for name in &args.containers {
        let c = engine.get(name)?;
        engine.kill(&c, signal)?;
        outln!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct RmArgs {
    /// Kill running containers first.
    #[arg(short, long)]
    force: bool,
    /// Remove every container.
    #[arg(short, long)]
    all: bool,
    /// Also remove the container's anonymous volumes (`-v /path`); named volumes stay.
    #[arg(short, long)]
    volumes: bool,
    /// Containers (name or id).
    containers: Vec<String>,
}

pub fn rm(ctx: &Context, args: RmArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let names: Vec<String> = if args.all {
        engine.list()?.into_iter().map(|c| c.id).collect()
    } else {
        if args.containers.is_empty() {
            bail!("rm needs at least one container, or --all");
        }
        args.containers.clone()
    };
    // Podman's codes: 1 no such container, 2 running without --force, 125 other errors.
    let mut code = 0u8;
    for name in &names {
        let result = engine
            .get(name)
            .and_then(|c| engine.remove_with(&c, args.force, args.volumes).map(|_| c));
        match result {
            // The name as given (`-a` gives ids), as Podman.
            Ok(_) => outln!("{name}"),
            Err(e) => {
                errln!("Error: {}", e.to_string().replace('\n', " "));
                code = code.max(e.removal_exit_code());
            }
        }
    }
    Ok(ExitCode::from(code))
}

#[derive(Args)]
pub struct LogsArgs {
    /// Follow the output until the container stops.
    #[arg(short, long)]
    follow: bool,
    /// Show only the last N lines.
    #[arg(long, value_name = "N")]
    tail: Option<usize>,
    /// Prefix each line with its time (RFC 3339).
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs since TIMESTAMP (RFC 3339, a date, Unix seconds, or a duration before now
    /// such as `10m`).
    #[arg(long, value_name = "TIMESTAMP")]
    since: Option<String>,
    /// Show logs until TIMESTAMP (as --since).
    #[arg(long, value_name = "TIMESTAMP")]
    until: Option<String>,
    /// Container (name or id).
    container: String,
}

/// `--since`/`--until`'s TIMESTAMP, as Podman reads it (the event log's one parser).
fn log_time(flag: &str, value: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    value
        .map(|v| {
            berth_image_store::events::time::parse_input_time(v, chrono::Utc::now())
                .map_err(|e| anyhow::anyhow!("invalid {flag} {v:?}: {e}"))
        })
        .transpose()
}

pub fn logs(ctx: &Context, args: LogsArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let since = log_time("--since", args.since.as_deref())?;
    let until = log_time("--until", args.until.as_deref())?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.get(&args.container)?;
    let (mut out, mut err) = (crate::stdio::stdout(), crate::stdio::stderr());
    let opts = berth_run::logs::LogOptions {
        tail: args.tail,
        follow: args.follow,
        timestamps: args.timestamps,
        since,
        until,
    };
    engine.logs(
        &c,
        &opts,
        &mut berth_run::logs::LogOutput {
            stdout: &mut out,
            stderr: &mut err,
        },
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct WaitArgs {
    /// Containers (name or id).
    #[arg(required = true)]
    containers: Vec<String>,
}

pub fn wait(ctx: &Context, args: WaitArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    for name in &args.containers {
        let c = engine.get(name)?;
        let code = engine.wait(&c)?;
        outln!("{}", code.unwrap_or(-1));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct MonitorArgs {
    /// Container id.
    id: String,
}

/// `berth container-monitor ID` (hidden): supervise a detached container until it exits.
pub fn monitor(ctx: &Context, args: MonitorArgs) -> Result<ExitCode> {
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let c = engine.records().get(&args.id)?;
    match engine.monitor(&c) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Ok(ExitCode::from(e.exit_code())),
    }
}
