//! berth: the command line. Parsing, dispatch, output and exit codes only; every operation is a
//! library call (`berth-image-store`, `berth-layers`), so another front end can make the same
//! calls.
//!
//! One file per command group: [`images`] (images, tag, untag, rmi, image inspect/history/
//! mount/unmount/prune), [`archive`] (import, save, load), [`registry`] (pull, push, login,
//! logout, copy, search), [`containers`] (run, create, start, exec, stop, kill, restart, rm,
//! ps, logs, wait, commit, export, container …, volume …), [`system`] (system check/prune/info,
//! version); [`output`] holds the shared table and human-readable formatting.

mod archive;
mod build;
mod containers;
mod images;
mod manifest;
mod output;
mod progress;
mod registry;
mod system;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Exit code for berth's own errors (as Podman's 125).
const EXIT_BERTH_ERROR: u8 = 125;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Daemonless container image toolkit: build, store, move, sign and run OCI images",
    propagate_version = true
)]
struct Cli {
    /// Path to the store root (default /var/lib/berth, rootless ~/.local/share/berth).
    #[arg(long, global = true, value_name = "PATH")]
    root: Option<PathBuf>,
    /// Path to the run state directory (default /run/berth).
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
    Images(images::ImagesArgs),
    /// Add names to an image.
    Tag(images::TagArgs),
    /// Remove names from an image.
    Untag(images::UntagArgs),
    /// Remove images.
    Rmi(images::RmiArgs),
    /// Manage images.
    #[command(subcommand)]
    Image(images::ImageCommand),
    /// Create an image from a rootfs tarball (`-` reads stdin).
    Import(archive::ImportArgs),
    /// Save images to an archive or OCI layout.
    Save(archive::SaveArgs),
    /// Load images from an archive or OCI layout.
    Load(archive::LoadArgs),
    /// Display information about the inspected images (JSON).
    Inspect(images::InspectArgs),
    /// Manage the store.
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Display version information.
    Version(system::VersionArgs),
    /// Pull an image from a registry into the store.
    Pull(registry::PullArgs),
    /// Push an image from the store to a registry.
    Push(registry::PushArgs),
    /// Log in to a registry (credentials checked, then saved to auth.json).
    Login(registry::LoginArgs),
    /// Remove saved credentials of a registry.
    Logout(registry::LogoutArgs),
    /// Copy an image between registries, archives, OCI layouts and the store.
    Copy(registry::CopyArgs),
    /// Search a registry's catalog for repositories.
    Search(registry::SearchArgs),
    /// Create, edit, inspect and push manifest lists (multi-platform images).
    #[command(subcommand)]
    Manifest(manifest::ManifestCommand),
    /// Create a cosign-format key pair for signing (NAME.private, NAME.pub).
    GenerateSigstoreKey(trust::GenerateKeyArgs),
    /// Run a command in a new container (network: host by default, or --network none).
    Run(containers::RunArgs),
    /// Create a container without starting it.
    Create(containers::CreateArgs),
    /// Start containers.
    Start(containers::StartArgs),
    /// Run a process in a running container.
    Exec(containers::ExecArgs),
    /// Stop running containers (SIGTERM, then SIGKILL after a timeout).
    Stop(containers::StopArgs),
    /// Send a signal to running containers.
    Kill(containers::KillArgs),
    /// Stop (if running) and start containers again, detached.
    Restart(containers::StopArgs),
    /// Copy files between a container and the host (or a tar stream, or a container).
    Cp(containers::cp::CpArgs),
    /// Display the running processes of a container.
    Top(containers::TopArgs),
    /// Display a live stream of containers' resource usage (CPU, memory, I/O, PIDs).
    Stats(containers::stats::StatsArgs),
    /// Create a new image from a container's changes.
    Commit(containers::CommitArgs),
    /// Write a container's filesystem as a tar archive.
    Export(containers::ExportArgs),
    /// Remove containers.
    Rm(containers::RmArgs),
    /// List containers.
    Ps(containers::PsArgs),
    /// Show a container's output.
    Logs(containers::LogsArgs),
    /// Wait for containers to stop and print their exit codes.
    Wait(containers::WaitArgs),
    /// Manage containers.
    #[command(subcommand)]
    Container(containers::ContainerCommand),
    /// Manage named volumes.
    #[command(subcommand)]
    Volume(containers::volumes::VolumeCommand),
    /// Build an image from a Containerfile and a context directory.
    Build(build::BuildArgs),
    /// Docker compatibility: `berth buildx build` is `berth build`.
    #[command(subcommand, hide = true)]
    Buildx(build::BuildxCommand),
    /// Run a command in berth's rootless user namespace (default: $SHELL).
    Unshare(containers::UnshareArgs),
    /// Supervise a detached container (started by berth itself).
    #[command(hide = true)]
    ContainerMonitor(containers::MonitorArgs),
}

fn main() -> ExitCode {
    // The embedded OCI runtime's own command line (runc's verbs), run by the run engine.
    if std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new("oci-runtime")) {
        let code = berth_oci_runtime::cli::main(std::env::args_os().skip(2).collect());
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let cli = Cli::parse();
    init_logging(&cli.log_level);
    let ctx = Context {
        root: cli.root.clone(),
        runroot: cli.runroot.clone(),
    };
    match run(&ctx, cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {}", one_line(&err));
            ExitCode::from(EXIT_BERTH_ERROR)
        }
    }
}

fn run(ctx: &Context, command: Command) -> Result<ExitCode> {
    match command {
        Command::Images(a) => images::list(ctx, a),
        Command::Tag(a) => images::tag(ctx, a),
        Command::Untag(a) => images::untag(ctx, a),
        Command::Rmi(a) => images::rmi(ctx, a),
        Command::Image(c) => images::dispatch(ctx, c),
        Command::Inspect(a) => images::inspect(ctx, a),
        Command::Import(a) => archive::import(ctx, a),
        Command::Save(a) => archive::save(ctx, a),
        Command::Load(a) => archive::load(ctx, a),
        Command::System(c) => system::dispatch(ctx, c),
        Command::Version(a) => system::version(ctx, a),
        Command::Pull(a) => registry::pull(ctx, a),
        Command::Push(a) => registry::push(ctx, a),
        Command::Login(a) => registry::login(ctx, a),
        Command::Logout(a) => registry::logout(ctx, a),
        Command::Copy(a) => registry::copy(ctx, a),
        Command::Search(a) => registry::search(ctx, a),
        Command::Manifest(c) => manifest::dispatch(ctx, c),
        Command::GenerateSigstoreKey(a) => trust::generate_key(ctx, a),
        Command::Run(a) => containers::run(ctx, a),
        Command::Create(a) => containers::create(ctx, a),
        Command::Start(a) => containers::start(ctx, a),
        Command::Exec(a) => containers::exec(ctx, a),
        Command::Stop(a) => containers::stop(ctx, a),
        Command::Kill(a) => containers::kill(ctx, a),
        Command::Restart(a) => containers::restart(ctx, a),
        Command::Cp(a) => containers::cp::cp(ctx, a),
        Command::Top(a) => containers::top(ctx, a),
        Command::Stats(a) => containers::stats::stats(ctx, a),
        Command::Commit(a) => containers::commit(ctx, a),
        Command::Export(a) => containers::export(ctx, a),
        Command::Rm(a) => containers::rm(ctx, a),
        Command::Ps(a) => containers::show::ps(ctx, a),
        Command::Logs(a) => containers::logs(ctx, a),
        Command::Wait(a) => containers::wait(ctx, a),
        Command::Container(c) => containers::dispatch(ctx, c),
        Command::ContainerMonitor(a) => containers::monitor(ctx, a),
        Command::Unshare(a) => containers::unshare(ctx, a),
        Command::Build(a) => build::build(ctx, a),
        Command::Buildx(c) => build::buildx(ctx, c),
        Command::Volume(c) => containers::volumes::dispatch(ctx, c),
    }
}

/// What every command needs: where the store is.
pub struct Context {
    root: Option<PathBuf>,
    /// `--runroot` (containers' bundles and runtime state).
    runroot: Option<PathBuf>,
}

impl Context {
    /// The store root chosen by `--root` or the default.
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
/// outer message already contains.
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
    line.replace('\n', " ")
}

fn init_logging(level: &str) {
    // libcontainer and libcgroups (the embedded runtime) warn about every cgroup controller
    // this host lacks, and log as errors what berth reports itself: only at debug and trace.
    let quiet = if matches!(level, "debug" | "trace") {
        String::new()
    } else {
        ",libcontainer=off,libcgroups=off".to_string()
    };
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{level}{quiet}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn{quiet}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
