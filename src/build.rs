//! `berth build` (also `berth buildx build`): a Containerfile and a context dir → an image.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_build::input::{self, read_containerfile, ContainerfileSource, StreamedContext};
use berth_build::{BuildOptions, Format, PullPolicy, Secret, Squash};
use berth_registry::auth::Credentials;
use berth_registry::connect::ConnectOptions;
use berth_registry::pull::PullOptions;
use clap::{Args, Subcommand};

use crate::build_progress::{Display, Mode};
use crate::Context;

mod platforms;

#[derive(Args)]
pub struct BuildArgs {
    /// The Containerfile, `-` for stdin (default: CONTEXT/Containerfile, else
    /// CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Name for the image (repeatable).
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    tag: Vec<String>,
    /// Value of an ARG (`KEY=VALUE`, or `KEY` to take it from the environment).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    build_arg: Vec<String>,
    /// A file of `KEY=VALUE` lines (`#` comments) read as --build-arg values.
    #[arg(long = "build-arg-file", value_name = "FILE")]
    build_arg_file: Vec<PathBuf>,
    /// Add a label to the image (`KEY=VALUE`).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Add an annotation to the image manifest (`KEY=VALUE`).
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    annotation: Vec<String>,
    /// Write the image id to this file.
    #[arg(long, value_name = "FILE")]
    iidfile: Option<PathBuf>,
    /// Set every created time and file mtime to this many seconds since the epoch, for
    /// reproducible images (default: $SOURCE_DATE_EPOCH when set).
    #[arg(long, value_name = "SECONDS")]
    timestamp: Option<i64>,
    /// A secret for `RUN --mount=type=secret`: `id=ID,src=FILE` or `id=ID,env=VAR`
    /// (never stored in the image or its history).
    #[arg(long, value_name = "id=ID,src=FILE|env=VAR")]
    secret: Vec<String>,
    /// Ignore file to use instead of CONTEXT/.containerignore or CONTEXT/.dockerignore.
    #[arg(long, value_name = "FILE")]
    ignorefile: Option<PathBuf>,
    /// Write the image without history entries.
    #[arg(long)]
    omit_history: bool,
    /// When to pull FROM images from their registry: missing (default), always, newer (as
    /// always), never.
    #[arg(long, value_name = "POLICY", num_args = 0..=1, require_equals = true, default_missing_value = "always")]
    pull: Option<String>,
    /// Require HTTPS and verify certificates when pulling (`--tls-verify=false` allows plain
    /// HTTP).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    tls_verify: Option<bool>,
    /// Path of the authentication file for pulls.
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
    /// Credentials for pulls (`USER:PASS`).
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
    /// Directory with certificates for pulls.
    #[arg(long, value_name = "DIR")]
    cert_dir: Option<PathBuf>,
    /// Policy file for the trust check of pulled base images (default
    /// ~/.config/containers/policy.json, then /etc/containers/policy.json).
    #[arg(long, value_name = "FILE")]
    signature_policy: Option<PathBuf>,
    /// Directory of registries.d files: where signatures of base images are looked up.
    #[arg(long = "registries.d", value_name = "DIR")]
    registries_d: Option<PathBuf>,
    /// Reuse and record step results in the layer cache (default true, as Podman).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    layers: Option<bool>,
    /// Build up to this stage.
    #[arg(long, value_name = "STAGE")]
    target: Option<String>,
    /// Ignore cached results older than this (`30s`, `10m`, `2h`).
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    cache_ttl: Option<std::time::Duration>,
    /// Run every step instead of reusing cached results (they are still recorded).
    #[arg(long)]
    no_cache: bool,
    /// A repository to look steps up in before running them (`REPO:<step key>` images, as
    /// Buildah's); repeatable. Unreachable: the build goes on without it.
    #[arg(long, value_name = "REPO", value_parser = cache_repository)]
    cache_from: Vec<String>,
    /// A repository to push each step's result to, tagged with its cache key; repeatable.
    #[arg(long, value_name = "REPO", value_parser = cache_repository)]
    cache_to: Vec<String>,
    /// Manifest and config format: oci (default) or docker. Unlike Podman, berth keeps
    /// HEALTHCHECK, ONBUILD and SHELL in the config (`Healthcheck`, `OnBuild`, `Shell`) in
    /// both formats, and a base image's SHELL stays in force.
    #[arg(long, default_value = "oci", value_name = "FORMAT")]
    format: String,
    /// Squash the target stage's new layers into one (the FROM image's layers are kept).
    #[arg(long, conflicts_with = "squash_all")]
    squash: bool,
    /// Squash the whole image into one layer.
    #[arg(long)]
    squash_all: bool,
    /// How many independent stages to build at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Print only the image id (RUN output goes to stderr).
    #[arg(short, long)]
    quiet: bool,
    /// How to show the build: plain (Buildah's lines), tty (a line per step with its timer
    /// and the running step's last output lines, on stderr), json (one event per line on
    /// stdout), auto (tty when stderr is a terminal, else plain; the default).
    #[arg(long, value_name = "auto|tty|plain|json")]
    progress: Option<String>,
    /// Target platform (default: the host's), or several, comma-separated, with --manifest.
    /// Another architecture's RUN steps run under a qemu user emulator registered in
    /// binfmt_misc with the F flag.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Add the image (one per platform of a comma-separated --platform) to this local
    /// manifest list, made if missing.
    #[arg(long, value_name = "NAME")]
    manifest: Option<String>,
    /// Target architecture (overrides --platform's).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Target operating system (overrides --platform's).
    #[arg(long, value_name = "OS")]
    os: Option<String>,
    /// Target architecture variant (overrides --platform's).
    #[arg(long, value_name = "VARIANT")]
    variant: Option<String>,
    /// OCI runtime for RUN steps: embedded (berth's own, the default as root), runc, crun or a
    /// path.
    #[arg(long, value_name = "RUNTIME")]
    runtime: Option<String>,
    /// The network of RUN steps: `private` (bridge mode on the default network: Buildah's
    /// default as root), `host`, `none`, `ns:PATH` or a network's name. As a plain user the
    /// default is `host`.
    #[arg(long, visible_alias = "net", value_name = "MODE")]
    network: Option<String>,
    /// The build context directory, or `-` for a tar of it on stdin.
    #[arg(default_value = ".")]
    context: PathBuf,
}

#[derive(Subcommand)]
pub enum BuildxCommand {
    /// Build an image from a Containerfile (as `berth build`).
    Build(BuildArgs),
}

pub fn buildx(ctx: &Context, command: BuildxCommand) -> Result<ExitCode> {
    match command {
        BuildxCommand::Build(a) => build(ctx, a),
    }
}

fn cache_repository(s: &str) -> std::result::Result<String, String> {
    berth_build::registry_cache::repository(s).map(|_| s.to_string())
}

fn parse_ttl(s: &str) -> std::result::Result<std::time::Duration, String> {
    berth_build::extras::duration_ns(s).map(std::time::Duration::from_nanos)
}

fn key_values(flag: &str, list: &[String]) -> Result<Vec<(String, String)>> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("{flag} {kv:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// `--build-arg-file` lines, then `--build-arg` values (later ones win).
fn all_build_args(args: &BuildArgs) -> Result<Vec<(String, String)>> {
    let mut lines = Vec::new();
    for f in &args.build_arg_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    lines.extend(args.build_arg.iter().cloned());
    Ok(build_args(&lines))
}

/// `--secret id=ID,src=FILE` / `id=ID,env=VAR` (also `type=file|env`) → (id, value).
fn secrets(list: &[String]) -> Result<Vec<Secret>> {
    let mut out = Vec::new();
    for spec in list {
        let mut id = None;
        let mut src = None;
        let mut kind = None;
        for part in spec.split(',') {
            match part.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(v.to_string()),
                Some(("env", v)) => {
                    src = Some(v.to_string());
                    kind = Some("env".to_string());
                }
                Some(("type", v)) => kind = Some(v.to_string()),
                _ => bail!("--secret {spec:?}: use id=ID,src=FILE or id=ID,env=VAR"),
            }
        }
        let id = id.or_else(|| src.clone()).unwrap_or_default();
        let ok = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !ok || id == "." || id == ".." {
            bail!("--secret {spec:?}: the id must be made of [A-Za-z0-9_.-]");
        }
        let Some(src) = src else {
            bail!("--secret {spec:?}: give src=FILE or env=VAR");
        };
        let value = match kind.as_deref() {
            Some("env") => std::env::var(&src)
                .with_context(|| format!("--secret {spec:?}: environment variable {src}"))?
                .into_bytes(),
            None | Some("file") => {
                std::fs::read(&src).with_context(|| format!("--secret {spec:?}: reading {src}"))?
            }
            Some(other) => bail!("--secret {spec:?}: unknown type {other:?}: use file or env"),
        };
        out.push(Secret { id, value });
    }
    Ok(out)
}

fn build_args(list: &[String]) -> Vec<(String, String)> {
    list.iter()
        .filter_map(|a| match a.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => std::env::var(a).ok().map(|v| (a.clone(), v)),
        })
        .collect()
}

pub fn build(ctx: &Context, mut args: BuildArgs) -> Result<ExitCode> {
    let format: Format = args.format.parse()?;
    // As a plain user the build runs in berth's user namespace, as `podman build` does: RUN
    // containers and files of several owners need it. Joined while still single-threaded.
    let platforms = platforms::platforms(
        args.platform.as_deref(),
        args.os.as_deref(),
        args.arch.as_deref(),
        args.variant.as_deref(),
        args.manifest.as_deref(),
    )?;
    // Whether the host runs them, checked before: berth's namespace hides binfmt_misc.
    for p in platforms
        .iter()
        .filter(|p| berth_build::platform::is_foreign(p))
    {
        berth_build::platform::check_runnable(p, berth_build::platform::BINFMT_DIR)
            .map_err(anyhow::Error::msg)?;
    }
    crate::containers::enter(ctx)?;
    // `-` as the context: a tar (uncompressed, gzip or zstd) on stdin, unpacked in-root
    // into a private directory that lives as long as the build.
    let stdin_context = if args.context == Path::new("-") {
        if args.file.as_deref() == Some(Path::new("-")) {
            bail!("-f - and a context on stdin cannot both read stdin");
        }
        let ctx = StreamedContext::unpack(std::io::stdin(), "stdin")?;
        args.context = ctx.path().to_path_buf();
        Some(ctx)
    } else {
        None
    };
    let pull = match args.pull.as_deref() {
        None => PullPolicy::Missing,
        Some(p) => PullPolicy::parse_with_booleans(p).map_err(anyhow::Error::msg)?,
    };
    let pull_options = PullOptions {
        connect: ConnectOptions {
            tls_verify: args.tls_verify,
            authfile: args.authfile.clone(),
            creds: args.creds.as_deref().map(Credentials::parse).transpose()?,
            cert_dir: args.cert_dir.clone(),
        },
        signature_policy: args.signature_policy.clone(),
        registries_d: args.registries_d.clone(),
        // The build's platform: FROM pulls its instance, the image is stamped with it.
        // One build per platform (more than one gathered by --manifest).
        platform: platforms[0].clone(),
        ..PullOptions::default()
    };
    let mut stdin = std::io::stdin();
    let source = match &args.file {
        Some(f) if f == Path::new("-") => ContainerfileSource::Stream(&mut stdin),
        Some(f) => ContainerfileSource::Path(f.clone()),
        None => ContainerfileSource::InContext,
    };
    let containerfile = read_containerfile(&args.context, source, stdin_context.as_ref())?;
    let file = berth_build::parse(&containerfile.name, &containerfile.text)?;
    let source_date_epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let timestamp = input::timestamp(args.timestamp, source_date_epoch.as_deref())?;
    let store = ctx.store()?;
    let mode = match args.quiet {
        true => Mode::Plain,
        false => Mode::parse(args.progress.as_deref())?,
    };
    let mut display = Display::new(mode);
    let mut opts = BuildOptions {
        context: args.context.clone(),
        tags: args.tag.clone(),
        build_args: all_build_args(&args)?,
        labels: key_values("--label", &args.label)?,
        annotations: key_values("--annotation", &args.annotation)?,
        timestamp,
        ignorefile: args.ignorefile.clone(),
        omit_history: args.omit_history,
        secrets: secrets(&args.secret)?,
        pull,
        pull_options,
        layers: args.layers.unwrap_or(true),
        no_cache: args.no_cache,
        cache_from: args.cache_from.clone(),
        cache_to: args.cache_to.clone(),
        cache_ttl: args.cache_ttl,
        target: args.target.clone(),
        format,
        runtime: args.runtime.clone(),
        network: berth_build::run_network::run_network(args.network.as_deref())?,
        runroot: crate::containers::runroot(ctx),
        run_output_to_stderr: args.quiet,
        run_output: display.run_output()?,
        events: display.sink(),
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        squash: match (args.squash, args.squash_all) {
            (_, true) => Squash::All,
            (true, false) => Squash::New,
            (false, false) => Squash::No,
        },
    };
    // RUN containers write to berth's stdout and stderr themselves: relay those, so a reader
    // that goes away (`berth build … | head -1`) fails no step; the build finishes and tags.
    let _relay = crate::stdio::relay();
    let plain = !args.quiet && mode == Mode::Plain;
    let mut out = |line: &str| {
        if plain {
            outln!("{line}");
        }
    };
    let mut built = Vec::new();
    let mut failed = None;
    for platform in &platforms {
        opts.pull_options.platform = platform.clone();
        match berth_build::build(&store, &file, &opts, &mut out) {
            Ok(image) => built.push(image),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    // The last write end of RUN's output pipe goes with the options: the reader sees its end.
    drop(opts);
    display.finish(match (&failed, built.last()) {
        (Some(e), _) => Err(e.to_string().replace('\n', " ")),
        (None, Some(image)) => Ok((image.id.digest(), image.name_texts())),
        (None, None) => Err("no platform to build".to_string()),
    });
    if let Some(e) = failed {
        // As Podman: a failed RUN makes the build exit with the command's own code.
        return match e.run_exit_code().and_then(|c| u8::try_from(c).ok()) {
            Some(code) if code != 0 => {
                errln!("Error: {}", e.to_string().replace('\n', " "));
                Ok(ExitCode::from(code))
            }
            _ => Err(e.into()),
        };
    }
    if let Some(list) = &args.manifest {
        platforms::add_to_list(&store, list, &built)?;
    }
    let image = built.pop().expect("one build per platform, at least one");
    // After the executor's `COMMIT` line, as Buildah: the id cut as it cuts it, every name of
    // the image when the build named it, then the full id (also with -q).
    if !args.quiet && mode != Mode::Json {
        outln!(
            "{}",
            berth_build::progress::short_id_line(image.id.digest())
        );
        if !args.tag.is_empty() {
            for name in &image.names {
                outln!("Successfully tagged {name}");
            }
        }
    }
    if let Some(f) = &args.iidfile {
        std::fs::write(f, image.id.to_string())
            .with_context(|| format!("writing {}", f.display()))?;
    }
    if mode != Mode::Json {
        outln!("{}", image.id.digest());
    }
    Ok(ExitCode::SUCCESS)
}

/// `kube play --build`: build the directory `dir` (its Containerfile or Dockerfile) as `tag`,
/// through `build` itself, as Podman builds an image directory named like the image.
pub(crate) fn build_tagged(ctx: &Context, dir: &Path, tag: &str, quiet: bool) -> Result<()> {
    #[derive(clap::Parser)]
    struct One {
        #[command(flatten)]
        args: BuildArgs,
    }
    let dir = dir.to_string_lossy();
    let mut argv = vec!["build", "-t", tag, dir.as_ref()];
    if quiet {
        argv.insert(1, "-q");
    }
    let one = <One as clap::Parser>::try_parse_from(argv)?;
    let code = build(ctx, one.args)?;
    if code != ExitCode::SUCCESS {
        bail!("building {tag} from {dir} failed");
    }
    Ok(())
}
