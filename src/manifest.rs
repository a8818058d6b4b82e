//! `berth manifest create|add|annotate|inspect|push|remove|rm|exists`: multi-platform lists
//! (Podman's `podman manifest`). Lists live in the store's manifest list directory (see
//! `berth_registry::manifest_list`); this file parses flags and prints.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_registry::inspect::{self, parse_docker_ref};
use berth_registry::manifest_list::{
    self, parse_annotation, AddOptions, Annotate, ListFormat, Lists, ManifestList, PushOptions,
};
use berth_registry::platform::Platform;
use clap::{Args, Subcommand};

use crate::registry::ConnectArgs;
use crate::stdio::OnClosed;
use crate::Context;

#[derive(Subcommand)]
pub enum ManifestCommand {
    /// Create a manifest list, optionally with images.
    Create(CreateArgs),
    /// Add images to a manifest list.
    Add(AddArgs),
    /// Set the platform or annotations of an image in a manifest list.
    Annotate(AnnotateArgs),
    /// Print a manifest list (local, or docker://REF in a registry).
    Inspect(InspectArgs),
    /// Push a manifest list and its images to a registry.
    Push(PushArgs),
    /// Remove an image from a manifest list.
    Remove(RemoveArgs),
    /// Delete manifest lists.
    Rm(RmArgs),
    /// Exit 0 if a manifest list exists, 1 if not.
    Exists(ExistsArgs),
}

impl ManifestCommand {
    /// What the command does when its output's reader has gone (see [`crate::stdio`]).
    pub fn on_closed(&self) -> OnClosed {
        use OnClosed::{Finish, Quit};
        match self {
            ManifestCommand::Inspect(_) | ManifestCommand::Exists(_) => Quit,
            ManifestCommand::Create(_)
            | ManifestCommand::Add(_)
            | ManifestCommand::Annotate(_)
            | ManifestCommand::Push(_)
            | ManifestCommand::Remove(_)
            | ManifestCommand::Rm(_) => Finish,
        }
    }
}

pub fn dispatch(ctx: &Context, command: ManifestCommand) -> Result<ExitCode> {
    match command {
        ManifestCommand::Create(a) => create(ctx, a),
        ManifestCommand::Add(a) => add(ctx, a),
        ManifestCommand::Annotate(a) => annotate(ctx, a),
        ManifestCommand::Inspect(a) => inspect_list(ctx, a),
        ManifestCommand::Push(a) => push(ctx, a),
        ManifestCommand::Remove(a) => remove(ctx, a),
        ManifestCommand::Rm(a) => rm(ctx, a),
        ManifestCommand::Exists(a) => exists(ctx, a),
    }
}

fn annotations(values: &[String]) -> Result<Vec<(String, String)>> {
    Ok(values
        .iter()
        .map(|s| parse_annotation(s))
        .collect::<Result<Vec<_>, _>>()?)
}

// Flags of the images being added (create, add).
#[derive(Args)]
pub struct SourceArgs {
    /// When an image is itself a list, add every image in it (not just the host's platform).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
}

#[derive(Args)]
pub struct CreateArgs {
    /// Name of the new list.
    list: String,
    /// Images to add: docker://REF, or an image of the store.
    images: Vec<String>,
    /// If the list exists, add to it instead of failing.
    #[arg(short, long)]
    amend: bool,
    /// Annotation KEY=VALUE on the index itself (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    annotation: Vec<String>,
    #[command(flatten)]
    source: SourceArgs,
}

/// Add `images` to `list` applying `changes` to each; returns the added digests.
fn add_images(
    store: &berth_image_store::Store,
    list: &mut ManifestList,
    images: &[String],
    source: &SourceArgs,
    platform: Platform,
    changes: &Annotate,
) -> Result<Vec<berth_layers::Digest>> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let opts = AddOptions {
        connect: source.connect.options(source.creds.as_deref())?,
        all: source.all,
        platform,
    };
    let mut added = Vec::new();
    for image in images {
        let instances = manifest_list::describe(store, image, &opts)
            .with_context(|| format!("adding {image} to {}", list.name))?;
        for (desc, src) in instances {
            let digest = list.add(desc, Some(src));
            list.annotate(&digest, changes)?;
            added.push(digest);
        }
    }
    Ok(added)
}

fn create(ctx: &Context, args: CreateArgs) -> Result<ExitCode> {
    let index_annotations = annotations(&args.annotation)?;
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    let _lock = lists.lock()?;
    let mut list = lists
        .create(&args.list, args.amend)
        .with_context(|| format!("creating manifest list {}", args.list))?;
    list.annotate_index(&index_annotations);
    add_images(
        &store,
        &mut list,
        &args.images,
        &args.source,
        Platform::host(),
        &Annotate::default(),
    )?;
    lists.save(&list)?;
    outln!("{}", list.id);
    Ok(ExitCode::SUCCESS)
}

// Platform fields of an instance (add, annotate).
#[derive(Args)]
pub struct PlatformArgs {
    /// Architecture to record for the image (and to pick from a list being added).
    #[arg(long)]
    arch: Option<String>,
    /// Operating system to record for the image.
    #[arg(long)]
    os: Option<String>,
    /// Architecture variant to record for the image.
    #[arg(long)]
    variant: Option<String>,
    /// Operating system version to record (rarely needed; Windows).
    #[arg(long, value_name = "VERSION")]
    os_version: Option<String>,
    /// Platform features to record (repeatable).
    #[arg(long, value_name = "FEATURE")]
    features: Vec<String>,
    /// Annotation KEY=VALUE on the image's entry (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    annotation: Vec<String>,
}

impl PlatformArgs {
    fn changes(&self, os_features: Vec<String>) -> Result<Annotate> {
        Ok(Annotate {
            arch: self.arch.clone(),
            os: self.os.clone(),
            variant: self.variant.clone(),
            os_version: self.os_version.clone(),
            os_features,
            features: self.features.clone(),
            annotations: annotations(&self.annotation)?,
        })
    }
}

#[derive(Args)]
pub struct AddArgs {
    /// The manifest list.
    list: String,
    /// Images to add: docker://REF, or an image of the store (containers-storage:NAME,
    /// a name or an id).
    #[arg(required = true)]
    images: Vec<String>,
    #[command(flatten)]
    platform: PlatformArgs,
    #[command(flatten)]
    source: SourceArgs,
}

fn add(ctx: &Context, args: AddArgs) -> Result<ExitCode> {
    let changes = args.platform.changes(Vec::new())?;
    let pick = Platform::choose(
        None,
        args.platform.os.as_deref(),
        args.platform.arch.as_deref(),
        args.platform.variant.as_deref(),
    )?;
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    let _lock = lists.lock()?;
    let mut list = lists.get(&args.list)?;
    add_images(
        &store,
        &mut list,
        &args.images,
        &args.source,
        pick,
        &changes,
    )?;
    lists.save(&list)?;
    outln!("{}", list.id);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct AnnotateArgs {
    /// The manifest list.
    list: String,
    /// The image in the list: its digest, or the reference or image it was added from.
    image: String,
    #[command(flatten)]
    platform: PlatformArgs,
    /// Operating system features to record (repeatable).
    #[arg(long, value_name = "FEATURE")]
    os_features: Vec<String>,
    /// Put the --annotation values on the index itself instead of an image's entry.
    #[arg(long)]
    index: bool,
}

fn annotate(ctx: &Context, args: AnnotateArgs) -> Result<ExitCode> {
    let mut changes = args.platform.changes(args.os_features.clone())?;
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    let _lock = lists.lock()?;
    let mut list = lists.get(&args.list)?;
    let digest = list.find_instance(Some(&store), &args.image)?;
    if args.index {
        list.annotate_index(&std::mem::take(&mut changes.annotations));
    }
    list.annotate(&digest, &changes)?;
    lists.save(&list)?;
    outln!("{}: {digest}", list.id);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct InspectArgs {
    /// A local manifest list, or docker://REF.
    list: String,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
}

fn inspect_list(ctx: &Context, args: InspectArgs) -> Result<ExitCode> {
    let text = if args.list.starts_with("docker://") {
        let connect = args.connect.options(args.creds.as_deref())?;
        let remote = inspect::open(&args.list, &connect)
            .with_context(|| format!("inspecting {}", args.list))?;
        // Typed, so the fields keep the spec's order.
        let bad = || format!("{}: manifest {}", args.list, remote.manifest.digest);
        if remote.is_index() {
            serde_json::to_string_pretty(&remote.index().with_context(bad)?)?
        } else {
            let m = inspect::parse_image_manifest(&remote.manifest, &args.list)?;
            serde_json::to_string_pretty(&m)?
        }
    } else {
        let store = ctx.store()?;
        let lists = Lists::new(&store)?;
        serde_json::to_string_pretty(&lists.get(&args.list)?.index)?
    };
    outln!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn parse_format(s: &str) -> Result<ListFormat, String> {
    match s {
        "oci" => Ok(ListFormat::Oci),
        "v2s2" | "docker" => Ok(ListFormat::V2s2),
        other => Err(format!("unknown list format {other:?}: use oci or v2s2")),
    }
}

#[derive(Args)]
pub struct PushArgs {
    /// The manifest list.
    list: String,
    /// Destination: [docker://]REGISTRY/NAME[:TAG] (default: the list's name).
    destination: Option<String>,
    /// Push the images of the list too (default true; --all=false pushes only the list).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value = "true", default_missing_value = "true")]
    all: bool,
    /// List type: oci or v2s2 (default: v2s2 when every image is a Docker v2s2 manifest,
    /// else oci).
    #[arg(short, long, value_parser = parse_format)]
    format: Option<ListFormat>,
    /// Write the digest of the pushed list to this file.
    #[arg(long, value_name = "FILE")]
    digestfile: Option<PathBuf>,
    /// Delete the local list after a successful push.
    #[arg(long)]
    rm: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Credentials USERNAME:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
}

fn push(ctx: &Context, args: PushArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    let list = lists.get(&args.list)?;
    let dest_text = args
        .destination
        .clone()
        .unwrap_or_else(|| list.name.clone());
    if !dest_text.starts_with("docker://") && dest_text.contains(':') {
        let transport = dest_text.split(':').next().unwrap_or_default();
        if [
            "oci",
            "oci-archive",
            "docker-archive",
            "dir",
            "containers-storage",
        ]
        .contains(&transport)
        {
            bail!("manifest push destination {dest_text:?}: only docker:// is supported");
        }
    }
    let dest = parse_docker_ref(&dest_text)?;
    let opts = PushOptions {
        connect: args.connect.options(args.creds.as_deref())?,
        all: args.all,
        format: args.format,
    };
    let quiet = args.quiet;
    let print = move |line: &str| {
        if !quiet {
            let _ = writeln!(io::stderr().lock(), "{line}");
        }
    };
    let digest = manifest_list::push(&store, &list, &dest, &opts, &print)
        .with_context(|| format!("pushing manifest list {} to {dest}", list.name))?;
    if let Some(f) = &args.digestfile {
        std::fs::write(f, digest.to_string())
            .with_context(|| format!("writing {}", f.display()))?;
    }
    if args.rm {
        let _lock = lists.lock()?;
        lists.remove(&list.name)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct RemoveArgs {
    /// The manifest list.
    list: String,
    /// Digest of the image to remove from it.
    digest: String,
}

fn remove(ctx: &Context, args: RemoveArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    let _lock = lists.lock()?;
    let mut list = lists.get(&args.list)?;
    let digest = list.find_instance(Some(&store), &args.digest)?;
    list.remove(&digest)?;
    lists.save(&list)?;
    outln!("{}: {digest}", list.id);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct RmArgs {
    /// Manifest lists to delete.
    #[arg(required = true)]
    lists: Vec<String>,
    /// Ignore lists that do not exist.
    #[arg(short, long)]
    ignore: bool,
}

fn rm(ctx: &Context, args: RmArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    let _lock = lists.lock()?;
    let mut missing = Vec::new();
    for name in &args.lists {
        match lists.remove(name)? {
            Some(list) => {
                outln!("Untagged: {}", list.name);
                outln!("Deleted: {}", list.id);
            }
            None if args.ignore => {}
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        bail!("manifest list {}: not found", missing.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ExistsArgs {
    /// The manifest list.
    list: String,
}

fn exists(ctx: &Context, args: ExistsArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let lists = Lists::new(&store)?;
    Ok(match lists.find(&args.list)? {
        Some(_) => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    })
}
