//! Image commands: `images` (`list`), `tag`, `untag`, `rmi`, `inspect`, and `image …`;
//! [`tree`] is `image tree`.

use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_image_store::images::RemoveOutcome;
use berth_image_store::{ImageRecord, StoreError};
use berth_run::RunError;
use clap::{Args, Subcommand};

use crate::output::{human_age, image_size, print_table};
use crate::stdio::OnClosed;
use crate::{archive, Context};

mod list;
pub mod tree;

pub use list::{list, ImagesArgs};

#[derive(Subcommand)]
pub enum ImageCommand {
    /// List images in the store.
    #[command(alias = "list")]
    Ls(ImagesArgs),
    /// Display information about images (JSON).
    Inspect(InspectArgs),
    /// Show the history of an image.
    History(HistoryArgs),
    /// Add names to an image.
    Tag(TagArgs),
    /// Remove names from an image.
    Untag(UntagArgs),
    /// Remove images.
    Rm(RmiArgs),
    /// Remove unused images.
    Prune(PruneArgs),
    /// Mount images read-only and print the mount points (no argument: list mounted images).
    Mount(MountArgs),
    /// Unmount images.
    #[command(alias = "umount")]
    Unmount(UnmountArgs),
    /// Create an image from a rootfs tarball.
    Import(archive::ImportArgs),
    /// Save images to an archive or OCI layout.
    Save(archive::SaveArgs),
    /// Load images from an archive or OCI layout.
    Load(archive::LoadArgs),
    /// Sign images already pushed to a registry.
    Sign(crate::trust::SignImageArgs),
    /// Show an image's changes to its parent's file system, or to another image's (A, C, D).
    Diff(crate::containers::diff::DiffArgs),
    /// Exit 0 when an image exists, 1 when it does not.
    Exists(crate::containers::exists::ExistsArgs),
    /// Show an image's layers as a tree.
    Tree(tree::TreeArgs),
    /// Show or set the trust policy (policy.json).
    #[command(subcommand)]
    Trust(crate::trust::TrustCommand),
    /// Build an image from a Containerfile (as `berth build`).
    Build(Box<crate::build::BuildArgs>),
    /// Pull an image from a registry (as `berth pull`).
    Pull(Box<crate::registry::PullArgs>),
    /// Push an image to a registry (as `berth push`).
    Push(Box<crate::registry::PushArgs>),
    /// Search a registry for images (as `berth search`).
    Search(Box<crate::registry::SearchArgs>),
}

impl ImageCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        use OnClosed::{Finish, Quit};
        match self {
            ImageCommand::Ls(_)
            | ImageCommand::Inspect(_)
            | ImageCommand::History(_)
            | ImageCommand::Diff(_)
            | ImageCommand::Exists(_)
            | ImageCommand::Tree(_)
            | ImageCommand::Save(_)
            | ImageCommand::Search(_) => Quit,
            ImageCommand::Trust(c) => c.on_closed(),
            ImageCommand::Tag(_)
            | ImageCommand::Untag(_)
            | ImageCommand::Rm(_)
            | ImageCommand::Prune(_)
            | ImageCommand::Mount(_)
            | ImageCommand::Unmount(_)
            | ImageCommand::Import(_)
            | ImageCommand::Load(_)
            | ImageCommand::Sign(_)
            | ImageCommand::Build(_)
            | ImageCommand::Pull(_)
            | ImageCommand::Push(_) => Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: ImageCommand) -> Result<ExitCode> {
    match command {
        ImageCommand::Ls(a) => list(ctx, a),
        ImageCommand::Inspect(a) => inspect(ctx, a),
        ImageCommand::History(a) => history(ctx, a),
        ImageCommand::Tag(a) => tag(ctx, a),
        ImageCommand::Untag(a) => untag(ctx, a),
        ImageCommand::Rm(a) => rmi(ctx, a),
        ImageCommand::Prune(a) => prune(ctx, a),
        ImageCommand::Mount(a) => mount(ctx, a),
        ImageCommand::Unmount(a) => unmount(ctx, a),
        ImageCommand::Import(a) => archive::import(ctx, a),
        ImageCommand::Save(a) => archive::save(ctx, a),
        ImageCommand::Load(a) => archive::load(ctx, a),
        ImageCommand::Sign(a) => crate::trust::sign(ctx, a),
        ImageCommand::Exists(a) => crate::containers::exists::image(ctx, a),
        ImageCommand::Tree(a) => tree::tree(ctx, a),
        ImageCommand::Diff(a) => {
            crate::containers::diff::diff(ctx, a, crate::containers::diff::DiffOf::Image)
        }
        ImageCommand::Trust(c) => crate::trust::trust(ctx, c),
        ImageCommand::Build(a) => crate::build::build(ctx, *a),
        ImageCommand::Pull(a) => crate::registry::pull(ctx, *a),
        ImageCommand::Push(a) => crate::registry::push(ctx, *a),
        ImageCommand::Search(a) => crate::registry::search(ctx, *a),
    }
}

#[derive(Args)]
pub struct TagArgs {
    /// The image to name.
    image: String,
    /// New names.
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn tag(ctx: &Context, args: TagArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let img = store.lookup_image(&args.image)?;
    for name in &args.names {
        store.tag_image(&img, name)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct UntagArgs {
    /// The image.
    image: String,
    /// Names to remove (all when none are given).
    names: Vec<String>,
}

pub fn untag(ctx: &Context, args: UntagArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let img = store.lookup_image(&args.image)?;
    let names = if args.names.is_empty() {
        img.name_texts()
    } else {
        args.names.clone()
    };
    for name in &names {
        store.untag_image(&img, name)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct RmiArgs {
    /// Remove even if the image is mounted or used by a snapshot.
    #[arg(short, long)]
    force: bool,
    /// Remove all images.
    #[arg(short, long)]
    all: bool,
    /// Images to remove (names or ids).
    images: Vec<String>,
}

/// `rmi`: as Podman, exit 1 when an image is not known, 2 when one is in use. `-f` also
/// removes the containers made from an image it deletes (stopping running ones).
pub fn rmi(ctx: &Context, args: RmiArgs) -> Result<ExitCode> {
    if args.force {
        crate::containers::enter(ctx)?;
    }
    let store = ctx.store()?;
    let targets: Vec<String> = if args.all {
        store
            .list_images()?
            .into_iter()
            .map(|i| i.id.digest().to_string())
            .collect()
    } else if args.images.is_empty() {
        bail!("image name or ID must be specified");
    } else {
        args.images.clone()
    };
    let engine = berth_run::Engine::new(&store, &crate::containers::runroot(ctx))?;
    let mut code = ExitCode::SUCCESS;
    for target in &targets {
        let names = match store.lookup_image(target) {
            Ok(img) => img.names,
            Err(_) => Vec::new(),
        };
        let stop_timeout = std::time::Duration::from_secs(STOP_TIMEOUT_SECS);
        match engine.remove_image(target, args.force, stop_timeout) {
            Ok((RemoveOutcome::Untagged(name), _)) => outln!("Untagged: {name}"),
            Ok((RemoveOutcome::Deleted(id), _)) => {
                for name in &names {
                    outln!("Untagged: {name}");
                }
                outln!("Deleted: {}", id.digest());
            }
            Err(RunError::Store(err @ StoreError::NotFound(_))) => {
                errln!("Error: {err}");
                code = ExitCode::from(1);
            }
            Err(RunError::Store(err @ StoreError::FailedPrecondition(_))) => {
                errln!("Error: {err}");
                code = ExitCode::from(2);
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(code)
}

/// Seconds `rmi -f` gives a running container between its stop signal and SIGKILL (Podman's
/// default stop timeout).
const STOP_TIMEOUT_SECS: u64 = 10;

#[derive(Args)]
pub struct InspectArgs {
    /// Images to inspect: names or ids in the store, or one docker://REF in a registry.
    #[arg(required = true)]
    images: Vec<String>,
    /// Output format: `json` (default) or a Go template (`{{.Id}}`, `{{json .Config}}`).
    #[arg(short, long, default_value = "json")]
    format: String,
    /// docker://REF: print the manifest (or with --config the config) exactly as served.
    #[arg(long)]
    raw: bool,
    /// docker://REF: print the image's config.
    #[arg(long)]
    config: bool,
    /// docker://REF: do not list the repository's tags (RepoTags is empty).
    #[arg(short, long)]
    no_tags: bool,
    /// docker://REF: platform to pick from a multi-platform image: OS/ARCH[/VARIANT].
    #[arg(long)]
    platform: Option<String>,
    /// docker://REF: architecture to pick (instead of the host's).
    #[arg(long)]
    arch: Option<String>,
    /// docker://REF: operating system to pick (instead of the host's).
    #[arg(long)]
    os: Option<String>,
    /// docker://REF: architecture variant to pick.
    #[arg(long)]
    variant: Option<String>,
    #[command(flatten)]
    connect: crate::registry::ConnectArgs,
    /// docker://REF: credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
}

/// `inspect docker://REF` (Skopeo's `skopeo inspect`): one JSON object, or the raw manifest
/// or config; nothing is stored.
fn inspect_remote(args: &InspectArgs) -> Result<ExitCode> {
    use berth_registry::inspect::{inspect as inspect_ref, InspectOptions, Output};
    if args.images.len() != 1 {
        bail!("inspect docker://…: give exactly one image reference");
    }
    let input = &args.images[0];
    let opts = InspectOptions {
        connect: args.connect.options(args.creds.as_deref())?,
        platform: berth_registry::platform::Platform::choose(
            args.platform.as_deref(),
            args.os.as_deref(),
            args.arch.as_deref(),
            args.variant.as_deref(),
        )?,
        tags: !args.no_tags,
    };
    let output = match (args.raw, args.config) {
        (false, false) => Output::Summary,
        (true, false) => Output::RawManifest,
        (false, true) => Output::Config,
        (true, true) => Output::RawConfig,
    };
    let bytes = inspect_ref(input, &opts, output).with_context(|| format!("inspecting {input}"))?;
    let mut out = crate::stdio::stdout();
    std::io::Write::write_all(&mut out, &bytes)
        .and_then(|()| std::io::Write::flush(&mut out))
        .context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

impl InspectArgs {
    /// The names to inspect.
    pub fn names(&self) -> &[String] {
        &self.images
    }

    /// `--format`: `json` or a Go template.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// Refuse the options that apply to `docker://REF` only.
    pub fn local_only(&self) -> Result<()> {
        if self.raw || self.config {
            bail!("--raw and --config apply to docker://REF only");
        }
        Ok(())
    }
}

pub fn inspect(ctx: &Context, args: InspectArgs) -> Result<ExitCode> {
    if args.images.iter().any(|i| i.starts_with("docker://")) {
        if args.format != "json" {
            bail!(
                "inspect docker://…: --format {:?} is not supported",
                args.format
            );
        }
        return inspect_remote(&args);
    }
    args.local_only()?;
    let store = ctx.store()?;
    let mut out = Vec::new();
    for name in &args.images {
        let img = store.lookup_image(name)?;
        out.push(serde_json::to_value(store.inspect_image(&img)?)?);
    }
    crate::output::print_records(&out, &args.format)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The image.
    image: String,
    /// Show only ids.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate output.
    #[arg(long)]
    no_trunc: bool,
    /// Output format: `table` (default) or `json`.
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn history(ctx: &Context, args: HistoryArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let img = store.lookup_image(&args.image)?;
    let rows = store.image_history(&img)?;
    match args.format.as_str() {
        "json" => outln!("{}", serde_json::to_string_pretty(&rows)?),
        "table" => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    let id = if !row.has_id() || args.no_trunc {
                        row.id.clone()
                    } else {
                        img.short_id().to_string()
                    };
                    let by = &row.created_by;
                    let by = if args.no_trunc || by.chars().count() <= 45 {
                        by.clone()
                    } else {
                        format!("{}...", by.chars().take(42).collect::<String>())
                    };
                    vec![
                        id,
                        human_age(row.created),
                        by,
                        image_size(row.size),
                        row.comment.clone(),
                    ]
                })
                .collect();
            if args.quiet {
                for row in &table {
                    outln!("{}", row[0]);
                }
            } else {
                print_table(&["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"], &table);
            }
        }
        other => bail!("unknown --format {other:?}: use table or json"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Flags of `image prune` and `system prune`.
#[derive(Args)]
pub struct PruneArgs {
    /// Remove all images not in use, not only dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

pub fn prune(ctx: &Context, args: PruneArgs) -> Result<ExitCode> {
    let what = if args.all {
        "all images not in use"
    } else {
        "all dangling images"
    };
    if !args.force && !crate::prompt::confirm(&format!("This command removes {what}."))? {
        return Ok(ExitCode::SUCCESS);
    }
    let store = ctx.store()?;
    let report = store.prune_images(args.all)?;
    for id in &report.images {
        outln!("{}", id.digest());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct MountArgs {
    /// Images to mount (none: list mounted images).
    images: Vec<String>,
}

pub fn mount(ctx: &Context, args: MountArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    if args.images.is_empty() {
        for (img, path) in store.mounted_images()? {
            let name = img
                .names
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            outln!("{} {} {}", img.short_id(), name, path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !uid_zero() {
        // As Podman: mounts made outside a user namespace are not permitted, and one made in a
        // private namespace would be invisible to the caller.
        bail!("cannot run \"berth image mount\" as a plain user outside a user namespace: run it inside `berth unshare`");
    }
    for name in &args.images {
        let img = store.lookup_image(name)?;
        let path = store
            .mount_image(&img)
            .with_context(|| format!("mounting image {name}"))?;
        outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether this process is uid 0, on the host or in a user namespace (where mounts work).
fn uid_zero() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[derive(Args)]
pub struct UnmountArgs {
    /// Unmount every mounted image.
    #[arg(short, long)]
    all: bool,
    /// Unmount even if other users hold the mount.
    #[arg(short, long)]
    force: bool,
    /// Images to unmount.
    images: Vec<String>,
}

pub fn unmount(ctx: &Context, args: UnmountArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let images: Vec<ImageRecord> = if args.all {
        store
            .mounted_images()?
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    } else if args.images.is_empty() {
        bail!("image name or ID must be specified");
    } else {
        args.images
            .iter()
            .map(|n| store.lookup_image(n))
            .collect::<Result<_, _>>()?
    };
    for img in &images {
        store.unmount_image(img, args.force || args.all)?;
        outln!("{}", img.id.digest());
    }
    Ok(ExitCode::SUCCESS)
}
