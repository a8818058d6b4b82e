//! berth: the command line. Parsing, dispatch, output and exit codes only; every operation is a
//! library call (`berth-image-store`, `berth-layers`), so another front end can make the same
//! calls.
//!
//! One file per command group: [`images`] (images, history, tag, untag, rmi, image inspect/history/
//! mount/unmount/prune), [`archive`] (import, save, load), [`registry`] (pull, push, login,
//! logout, copy, search), [`containers`] (run, create, start, exec, stop, kill, restart, rm,
//! ps, logs, wait, commit, export, pause, unpause, rename, container …, volume …), [`events`]
//! (`events`, and where this process's events go), [`healthcheck`] (`healthcheck run`, and
//! `run`'s `--restart` and `--health-*` flags), [`generate`] (`generate systemd`),
//! [`network`] (network create/ls/inspect/rm/exists/prune), [`pod`] and [`pod_ops`] (pod …),
//! [`kube`] (kube …; [`kube_play`] `kube play`, `kube down`; [`kube_generate`] `kube generate`, also `generate kube`),
//! [`secret`] (secret create/ls/inspect/rm/exists), [`system`] (system check/prune/info,
//! info, version; [`system_df`] `system df`, [`system_reset`] `system reset`), [`buildah`]
//! (Buildah's verbs: `berth buildah from|run|copy|commit|…`), [`inspect`] (top-level inspect
//! of any object); [`output`] holds the shared
//! table and human-readable formatting; [`prompt`] asks at the terminal (confirmations,
//! passphrases); [`stdio`] is
//! berth's own stdout and stderr (its print macros, and what a command does when their reader
//! has gone); [`template`] is `--format`'s one Go-template engine (inspect, info, stats and the
//! list commands, with Podman's table and header rules); [`lazy`] makes clap build a subcommand's arguments only when that subcommand runs;
//! [`usage`] words clap's usage errors as Podman's; [`completion`] generates shell completions
//! and manual pages from the command tree.

// Every print goes through `stdio`'s macros: std's panic on a closed pipe.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

#[macro_use]
mod stdio;

mod archive;
mod build;
mod build_progress;
mod buildah;
mod completion;
mod containers;
mod events;
mod generate;
mod healthcheck;
mod images;
mod inspect;
mod kube;
mod kube_generate;
mod kube_play;
mod lazy;
mod manifest;
mod network;
mod network_containers;
mod output;
mod pod;
mod pod_ops;
mod progress;
mod prompt;
mod registry;
mod secret;
mod service;
mod system;
mod system_df;
mod system_reset;
mod template;
mod trust;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use lazy::Lazy;
use stdio::OnClosed;

/// Exit code for berth's own errors (as Podman's 125).
const EXIT_BERTH_ERROR: u8 = 125;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Daemonless container image toolkit: build, store, move, sign and run OCI images"
)]
struct Cli {
    /// Path to the store root (default: storage.conf's graphroot, else /var/lib/berth,
    /// rootless ~/.local/share/berth).
    #[arg(long, global = true, value_name = "PATH")]
    root: Option<PathBuf>,
    /// Path to the run state directory (default: storage.conf's runroot, else /run/berth).
    #[arg(long, global = true, value_name = "PATH")]
    runroot: Option<PathBuf>,
    /// Log messages at or above this level: trace, debug, info, warn, error.
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List images in the store.
    Images(Lazy<images::ImagesArgs>),
    /// Add names to an image.
    Tag(Lazy<images::TagArgs>),
    /// Remove names from an image.
    Untag(Lazy<images::UntagArgs>),
    /// Remove images.
    Rmi(Lazy<images::RmiArgs>),
    /// Manage images.
    #[command(subcommand)]
    Image(Lazy<images::ImageCommand>),
    /// Show the history of an image (as `image history`).
    History(Lazy<images::HistoryArgs>),
    /// Create an image from a rootfs tarball (`-` reads stdin).
    Import(Lazy<archive::ImportArgs>),
    /// Save images to an archive or OCI layout.
    Save(Lazy<archive::SaveArgs>),
    /// Load images from an archive or OCI layout.
    Load(Lazy<archive::LoadArgs>),
    /// Display the configuration of containers, images or volumes (JSON or --format).
    Inspect(Lazy<inspect::ObjectInspectArgs>),
    /// Manage the store.
    #[command(subcommand)]
    System(Lazy<system::SystemCommand>),
    /// Display berth's host and store information (as `system info`).
    Info(Lazy<system::InfoArgs>),
    /// Display version information.
    Version(Lazy<system::VersionArgs>),
    /// Pull an image from a registry into the store.
    Pull(Lazy<registry::PullArgs>),
    /// Push an image from the store to a registry.
    Push(Lazy<registry::PushArgs>),
    /// Log in to a registry (credentials checked, then saved to auth.json).
    Login(Lazy<registry::LoginArgs>),
    /// Remove saved credentials of a registry.
    Logout(Lazy<registry::LogoutArgs>),
    /// Copy an image between registries, archives, OCI layouts and the store.
    Copy(Lazy<registry::CopyArgs>),
    /// Search a registry's catalog for repositories.
    Search(Lazy<registry::SearchArgs>),
    /// Create, edit, inspect and push manifest lists (multi-platform images).
    #[command(subcommand)]
    Manifest(Lazy<manifest::ManifestCommand>),
    /// Create a cosign-format key pair for signing (NAME.private, NAME.pub).
    GenerateSigstoreKey(Lazy<trust::GenerateKeyArgs>),
    /// Run a command in a new container.
    Run(Lazy<containers::RunArgs>),
    /// Create a container without starting it.
    Create(Lazy<containers::CreateArgs>),
    /// Start containers.
    Start(Lazy<containers::StartArgs>),
    /// Make containers in the runtime without starting them (state initialized).
    Init(Lazy<containers::init::InitArgs>),
    /// Run a process in a running container.
    Exec(Lazy<containers::exec::ExecArgs>),
    /// Attach to a running container's terminal or output.
    Attach(Lazy<containers::attach::AttachArgs>),
    /// Show a container's or an image's changes to its file system (A, C, D).
    Diff(Lazy<containers::diff::DiffArgs>),
    /// Mount containers' root file systems and print the mount points (none: list them).
    Mount(Lazy<containers::mount::MountArgs>),
    /// Unmount containers' root file systems.
    #[command(alias = "unmount")]
    Umount(Lazy<containers::mount::UmountArgs>),
    /// Stop running containers (SIGTERM, then SIGKILL after a timeout).
    Stop(Lazy<containers::StopArgs>),
    /// Send a signal to running containers.
    Kill(Lazy<containers::KillArgs>),
    /// Pause every process of containers (the cgroup freezer).
    Pause(Lazy<containers::pause::PauseArgs>),
    /// Unpause paused containers.
    Unpause(Lazy<containers::pause::PauseArgs>),
    /// Rename a container.
    Rename(Lazy<containers::pause::RenameArgs>),
    /// Stop (if running) and start containers again, detached.
    Restart(Lazy<containers::StopArgs>),
    /// Copy files between a container and the host (or a tar stream, or a container).
    Cp(Lazy<containers::cp::CpArgs>),
    /// Display the running processes of a container.
    Top(Lazy<containers::TopArgs>),
    /// List a container's published ports.
    Port(Lazy<containers::port::PortArgs>),
    /// Display a live stream of containers' resource usage (CPU, memory, I/O, PIDs).
    Stats(Lazy<containers::stats::StatsArgs>),
    /// Create a new image from a container's changes.
    Commit(Lazy<containers::CommitArgs>),
    /// Write a container's filesystem as a tar archive.
    Export(Lazy<containers::ExportArgs>),
    /// Remove containers.
    Rm(Lazy<containers::RmArgs>),
    /// List containers.
    Ps(Lazy<containers::PsArgs>),
    /// Show a container's output.
    Logs(Lazy<containers::LogsArgs>),
    /// Wait for containers to stop and print their exit codes.
    Wait(Lazy<containers::WaitArgs>),
    /// Show events (containers, images, volumes, networks) from the event log.
    Events(Lazy<events::EventsArgs>),
    /// Manage containers.
    #[command(subcommand)]
    Container(Lazy<containers::ContainerCommand>),
    /// Run containers' health checks.
    #[command(subcommand)]
    Healthcheck(Lazy<healthcheck::HealthcheckCommand>),
    /// Generate systemd units for containers.
    #[command(subcommand)]
    Generate(Lazy<generate::GenerateCommand>),
    /// Manage named volumes.
    #[command(subcommand)]
    Volume(Lazy<containers::volumes::VolumeCommand>),
    /// Manage networks.
    #[command(subcommand)]
    Network(Lazy<network::NetworkCommand>),
    /// Manage secrets (file driver; `run --secret` gives them to containers).
    #[command(subcommand)]
    Secret(Lazy<secret::SecretCommand>),
    /// Manage pods (containers sharing network, IPC and UTS namespaces).
    #[command(subcommand)]
    Pod(Lazy<pod::PodCommand>),
    /// Kubernetes YAML from and to pods and containers.
    #[command(subcommand)]
    Kube(Lazy<kube::KubeCommand>),
    /// Build an image from a Containerfile and a context directory.
    Build(Lazy<build::BuildArgs>),
    /// Docker compatibility: `berth buildx build` is `berth build`.
    #[command(subcommand, hide = true)]
    Buildx(Lazy<build::BuildxCommand>),
    /// Buildah's verbs for scripted builds (`alias buildah='berth buildah'`).
    #[command(subcommand)]
    Buildah(Lazy<buildah::BuildahCommand>),
    /// Run a command in berth's rootless user namespace (default: $SHELL).
    Unshare(Lazy<containers::UnshareArgs>),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completion(Lazy<completion::CompletionArgs>),
    /// Write manual pages for berth and each of its commands (what `make install` runs).
    #[command(hide = true)]
    GenerateManPages(Lazy<completion::ManPagesArgs>),
    /// Supervise a detached container (started by berth itself).
    #[command(hide = true)]
    ContainerMonitor(Lazy<containers::MonitorArgs>),
    /// Serve an `exec -it` session's terminal (started by berth itself).
    #[command(hide = true)]
    ExecMonitor(Lazy<containers::exec::ExecMonitorArgs>),
}

fn main() -> ExitCode {
    // The embedded OCI runtime's own command line (runc's verbs), run by the run engine.
    if std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new("oci-runtime")) {
        // Rust ignores SIGPIPE; an ignored signal stays ignored across exec, and the
        // container's process must start with SIGPIPE's default, as under runc or crun.
        // SAFETY: signal(2) with a valid signal number and disposition, before any thread.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        let code = berth_oci_runtime::cli::main(std::env::args_os().skip(2).collect());
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // Help and version go to stdout with 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A usage error in Podman's words, and berth's own exit code: 125, as Podman
            // (clap's own code would be 2, which a container's exit code can be).
            let args: Vec<String> = std::env::args().skip(1).collect();
            errout!(
                "{}",
                usage::podman_style(&e, <Cli as clap::CommandFactory>::command(), &args)
            );
            return ExitCode::from(EXIT_BERTH_ERROR);
        }
    };
    init_logging(&cli.log_level);
    let ctx = match Context::from_flags(cli.root.clone(), cli.runroot.clone()) {
        Ok(ctx) => ctx,
        Err(err) => {
            errln!("Error: {}", one_line(&err));
            return ExitCode::from(EXIT_BERTH_ERROR);
        }
    };
    events::configure_log(&ctx);
    stdio::set_policy(on_closed(&cli.command));
    match run(&ctx, cli.command) {
        Ok(code) => code,
        Err(err) => {
            // The command stopped because nobody reads its output: end as the print would have.
            if stdio::output_closed() && stdio::policy() == OnClosed::Quit {
                stdio::die_by_sigpipe();
            }
            errln!("Error: {}", one_line(&err));
            ExitCode::from(EXIT_BERTH_ERROR)
        }
    }
}

/// What `command` does when its output's reader has gone (see [`stdio`]): commands that only
/// show something quit, commands that change something finish.
fn on_closed(command: &Command) -> OnClosed {
    use OnClosed::{Finish, Quit};
    match command {
        Command::Images(_)
        | Command::History(_)
        | Command::Inspect(_)
        | Command::Version(_)
        | Command::Info(_)
        | Command::Search(_)
        | Command::Cp(_)
        | Command::Top(_)
        | Command::Port(_)
        | Command::Stats(_)
        | Command::Export(_)
        | Command::Ps(_)
        | Command::Logs(_)
        | Command::Wait(_)
        | Command::Events(_)
        | Command::Diff(_)
        | Command::Save(_)
        | Command::Completion(_)
        | Command::Generate(_) => Quit,
        Command::Image(c) => c.0.on_closed(),
        Command::System(c) => c.0.on_closed(),
        Command::Manifest(c) => c.0.on_closed(),
        Command::Container(c) => c.0.on_closed(),
        Command::Volume(c) => c.0.on_closed(),
        Command::Network(c) => c.0.on_closed(),
        Command::Buildah(c) => c.0.on_closed(),
        Command::Secret(c) => c.0.on_closed(),
        Command::Pod(c) => c.0.on_closed(),
        Command::Kube(c) => c.0.on_closed(),
        Command::Tag(_)
        | Command::Untag(_)
        | Command::Rmi(_)
        | Command::Import(_)
        | Command::Load(_)
        | Command::Pull(_)
        | Command::Push(_)
        | Command::Login(_)
        | Command::Logout(_)
        | Command::Copy(_)
        | Command::GenerateSigstoreKey(_)
        | Command::Run(_)
        | Command::Create(_)
        | Command::Start(_)
        | Command::Init(_)
        | Command::Exec(_)
        | Command::Attach(_)
        | Command::Mount(_)
        | Command::Umount(_)
        | Command::Stop(_)
        | Command::Kill(_)
        | Command::Pause(_)
        | Command::Unpause(_)
        | Command::Rename(_)
        | Command::Restart(_)
        | Command::Commit(_)
        | Command::Rm(_)
        | Command::Build(_)
        | Command::Buildx(_)
        | Command::Unshare(_)
        | Command::ContainerMonitor(_)
        | Command::GenerateManPages(_)
        | Command::ExecMonitor(_)
        | Command::Healthcheck(_) => Finish,
    }
}

fn run(ctx: &Context, command: Command) -> Result<ExitCode> {
    match command {
        Command::Images(a) => images::list(ctx, a.0),
        Command::Tag(a) => images::tag(ctx, a.0),
        Command::Untag(a) => images::untag(ctx, a.0),
        Command::Rmi(a) => images::rmi(ctx, a.0),
        Command::Image(c) => images::dispatch(ctx, c.0),
        Command::History(a) => images::history(ctx, a.0),
        Command::Inspect(a) => inspect::inspect(ctx, a.0),
        Command::Import(a) => archive::import(ctx, a.0),
        Command::Save(a) => archive::save(ctx, a.0),
        Command::Load(a) => archive::load(ctx, a.0),
        Command::System(c) => system::dispatch(ctx, c.0),
        Command::Version(a) => system::version(ctx, a.0),
        Command::Info(a) => system::info(ctx, a.0),
        Command::Pull(a) => registry::pull(ctx, a.0),
        Command::Push(a) => registry::push(ctx, a.0),
        Command::Login(a) => registry::login(ctx, a.0),
        Command::Logout(a) => registry::logout(ctx, a.0),
        Command::Copy(a) => registry::copy(ctx, a.0),
        Command::Search(a) => registry::search(ctx, a.0),
        Command::Manifest(c) => manifest::dispatch(ctx, c.0),
        Command::GenerateSigstoreKey(a) => trust::generate_key(ctx, a.0),
        Command::Run(a) => containers::run(ctx, a.0),
        Command::Create(a) => containers::create(ctx, a.0),
        Command::Start(a) => containers::start(ctx, a.0),
        Command::Init(a) => containers::init::init(ctx, a.0),
        Command::Exec(a) => containers::exec::exec(ctx, a.0),
        Command::Attach(a) => containers::attach::attach(ctx, a.0),
        Command::Diff(a) => containers::diff::diff(ctx, a.0, containers::diff::DiffOf::Any),
        Command::Mount(a) => containers::mount::mount(ctx, a.0),
        Command::Umount(a) => containers::mount::umount(ctx, a.0),
        Command::Stop(a) => containers::stop(ctx, a.0),
        Command::Kill(a) => containers::kill(ctx, a.0),
        Command::Pause(a) => containers::pause::pause(ctx, a.0),
        Command::Unpause(a) => containers::pause::unpause(ctx, a.0),
        Command::Rename(a) => containers::pause::rename(ctx, a.0),
        Command::Restart(a) => containers::restart(ctx, a.0),
        Command::Cp(a) => containers::cp::cp(ctx, a.0),
        Command::Top(a) => containers::top(ctx, a.0),
        Command::Port(a) => containers::port::port(ctx, a.0),
        Command::Stats(a) => containers::stats::stats(ctx, a.0),
        Command::Commit(a) => containers::commit(ctx, a.0),
        Command::Export(a) => containers::export(ctx, a.0),
        Command::Rm(a) => containers::rm(ctx, a.0),
        Command::Ps(a) => containers::ps::ps(ctx, a.0),
        Command::Logs(a) => containers::logs(ctx, a.0),
        Command::Wait(a) => containers::wait(ctx, a.0),
        Command::Events(a) => events::events(ctx, a.0),
        Command::Container(c) => containers::dispatch(ctx, c.0),
        Command::Healthcheck(c) => healthcheck::dispatch(ctx, c.0),
        Command::Generate(c) => generate::dispatch(ctx, c.0),
        Command::ContainerMonitor(a) => containers::monitor(ctx, a.0),
        Command::ExecMonitor(a) => containers::exec::exec_monitor(ctx, a.0),
        Command::Unshare(a) => containers::unshare(ctx, a.0),
        Command::Completion(a) => completion::completion(a.0),
        Command::GenerateManPages(a) => completion::man_pages(a.0),
        Command::Build(a) => build::build(ctx, a.0),
        Command::Buildx(c) => build::buildx(ctx, c.0),
        Command::Buildah(c) => buildah::dispatch(ctx, c.0),
        Command::Volume(c) => containers::volumes::dispatch(ctx, c.0),
        Command::Network(c) => network::dispatch(ctx, c.0),
        Command::Secret(c) => secret::dispatch(ctx, c.0),
        Command::Pod(c) => pod::dispatch(ctx, c.0),
        Command::Kube(c) => kube::dispatch(ctx, c.0),
    }
}

/// What every command needs: where the store is.
pub struct Context {
    root: Option<PathBuf>,
    /// `--runroot` (containers' bundles and runtime state).
    runroot: Option<PathBuf>,
}

impl Context {
    /// `--root` and `--runroot`, else storage.conf's `graphroot` and `runroot` (read only
    /// when a flag is missing; `berth_trust::storage_conf`), else berth's defaults.
    fn from_flags(root: Option<PathBuf>, runroot: Option<PathBuf>) -> Result<Context> {
        if root.is_some() && runroot.is_some() {
            return Ok(Context { root, runroot });
        }
        let conf =
            berth_trust::storage_conf::StorageConf::load(berth_run::rootless::is_rootless())?;
        Ok(Context {
            root: root.or(conf.graphroot),
            runroot: runroot.or(conf.runroot),
        })
    }

    /// The store root chosen by `--root`, storage.conf or the default.
    pub fn root(&self) -> PathBuf {
        self.root
            .clone()
            .unwrap_or_else(berth_image_store::Store::default_root)
    }

    /// Open the store.
    pub fn store(&self) -> Result<berth_image_store::Store> {
        Ok(berth_image_store::Store::open(&self.root())?)
    }
}

/// An error chain as one line: `outer: inner: innermost`, without repeating a cause that the
/// outer message already contains. Newlines become spaces and every other control character
/// is written as `\x1b` (an entry name from a hostile layer cannot drive the terminal).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    escape_controls(&line)
}

/// `text` with `\n` as a space and every other control character (C0, DEL, C1) as `\xNN`.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn init_logging(level: &str) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    // `Targets`, not `EnvFilter`: no regular expression compiled at every start.
    let default = level.parse::<LevelFilter>().unwrap_or(LevelFilter::WARN);
    let mut targets = Targets::new().with_default(default);
    if default < LevelFilter::DEBUG {
        // libcontainer and libcgroups (the embedded runtime) warn about every cgroup
        // controller this host lacks, and log as errors what berth reports itself.
        targets = targets
            .with_target("libcontainer", LevelFilter::OFF)
            .with_target("libcgroups", LevelFilter::OFF);
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_filter(targets);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand's arguments are built only when it runs ([`Lazy`]): check them all.
    #[test]
    fn every_subcommand_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lazy_subcommands_parse_and_keep_global_options() {
        let cli =
            Cli::try_parse_from(["berth", "run", "--rm", "--root", "/r", "img", "true"]).unwrap();
        assert_eq!(cli.root.as_deref(), Some(std::path::Path::new("/r")));
        assert!(matches!(cli.command, Command::Run(_)));
        let cli = Cli::try_parse_from(["berth", "--runroot", "/x", "image", "ls"]).unwrap();
        assert!(matches!(cli.command, Command::Image(_)));
        let err = Cli::try_parse_from(["berth", "run", "--no-such-flag", "img"])
            .err()
            .unwrap();
        assert!(err.to_string().contains("--no-such-flag"), "{err}");
    }

    /// A hostile name in an error cannot reach the terminal as escape bytes.
    #[test]
    fn error_line_escapes_control_characters() {
        let err = anyhow::anyhow!("entry \u{1b}[31mred\u{7}\tx\u{9b}y").context("layer\nrefused");
        let line = one_line(&err);
        assert_eq!(line, "layer refused: entry \\x1b[31mred\\x07\\x09x\\x9by");
    }

    /// `-V`/`--version` belong to `berth` itself, not to each subcommand (as Podman's).
    #[test]
    fn only_the_top_level_has_a_version_flag() {
        let err = Cli::try_parse_from(["berth", "-V"]).err().unwrap();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
        let err = Cli::try_parse_from(["berth", "run", "-V", "img"])
            .err()
            .unwrap();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
