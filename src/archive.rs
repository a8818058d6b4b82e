//! Archive commands: `import`, `save`, `load`.

use std::fs::File;
use std::io::{self, BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use berth_image_store::import::{import_directory, import_rootfs, ImportOptions};
use berth_image_store::names::normalize_local;
use berth_image_store::transports::{self, ArchiveFormat, SaveItem};
use berth_layers::{Compression, LayerOptions};
use clap::Args;

use crate::Context;

#[derive(Args)]
pub struct ImportArgs {
    /// Rootfs tarball (any of uncompressed, gzip, zstd), a directory tree, or `-` for stdin.
    file: String,
    /// Name for the new image.
    reference: Option<String>,
    /// Apply a Containerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD).
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    change: Vec<String>,
    /// Commit message stored in the image history.
    #[arg(short, long)]
    message: Option<String>,
    /// Compression of the stored layer: gzip (default), zstd, none.
    #[arg(long, default_value = "gzip", value_name = "FORMAT")]
    compression_format: String,
    /// Print only the image id... and nothing else (the id is always printed).
    #[arg(short, long)]
    quiet: bool,
}

pub fn import(ctx: &Context, args: ImportArgs) -> Result<ExitCode> {
    let compression = parse_compression(&args.compression_format)?;
    if let Some(name) = &args.reference {
        normalize_local(name)?;
    }
    let store = ctx.store()?;
    let options = ImportOptions {
        name: args.reference.clone(),
        changes: args.change.clone(),
        message: args.message.clone(),
        layer: LayerOptions {
            compression,
            ..LayerOptions::default()
        },
    };
    let image = if args.file == "-" {
        import_rootfs(
            &store,
            BufReader::with_capacity(1 << 20, io::stdin()),
            &options,
        )
    } else if std::path::Path::new(&args.file).is_dir() {
        import_directory(&store, std::path::Path::new(&args.file), &options)
    } else {
        let file = File::open(&args.file).with_context(|| format!("opening {}", args.file))?;
        import_rootfs(&store, BufReader::with_capacity(1 << 20, file), &options)
    }
    .with_context(|| format!("importing {}", args.file))?;
    outln!("{}", image.id.digest());
    Ok(ExitCode::SUCCESS)
}

fn parse_compression(name: &str) -> Result<Compression> {
    match Compression::parse(name) {
        Some(c) => Ok(c),
        None => bail!("unknown compression format {name:?}: use gzip, zstd or none"),
    }
}

#[derive(Args)]
pub struct SaveArgs {
    /// Write to this file (or directory for oci-dir); stdout when omitted and not a terminal.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Archive format: docker-archive (default), oci-archive, oci-dir.
    #[arg(long, default_value = "docker-archive")]
    format: String,
    /// Accepted for compatibility: several images always go into one archive.
    #[arg(short = 'm', long)]
    multi_image_archive: bool,
    /// Suppress progress output.
    #[arg(short, long)]
    quiet: bool,
    /// Images to save.
    #[arg(required = true)]
    images: Vec<String>,
}

pub fn save(ctx: &Context, args: SaveArgs) -> Result<ExitCode> {
    let Some(format) = ArchiveFormat::parse(&args.format) else {
        bail!(
            "unknown --format {:?}: use docker-archive, oci-archive or oci-dir",
            args.format
        );
    };
    let store = ctx.store()?;
    let items = args
        .images
        .iter()
        .map(|name| SaveItem::lookup(&store, name))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    match &args.output {
        Some(path) => transports::save(&store, &items, format, path)
            .with_context(|| format!("saving to {}", path.display()))?,
        None => {
            if io::stdout().is_terminal() {
                bail!("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
            }
            if format == ArchiveFormat::OciDir {
                bail!("oci-dir needs -o DIRECTORY");
            }
            let tmp = tempfile::Builder::new()
                .prefix("save-")
                .tempdir_in(store.root())
                .context("creating a temporary directory in the store")?;
            let path = tmp.path().join("archive.tar");
            transports::save(&store, &items, format, &path)?;
            let mut file =
                File::open(&path).with_context(|| format!("opening {}", path.display()))?;
            io::copy(&mut file, &mut crate::stdio::stdout())
                .context("writing the archive to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from this archive or OCI layout directory (stdin when omitted).
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// Suppress progress output.
    #[arg(short, long)]
    quiet: bool,
}

pub fn load(ctx: &Context, args: LoadArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let images = match &args.input {
        Some(path) => {
            transports::load(&store, path).with_context(|| format!("loading {}", path.display()))?
        }
        None => {
            if io::stdin().is_terminal() {
                bail!("no input: use -i FILE or pipe an archive to stdin");
            }
            transports::load_stream(&store, io::stdin().lock(), "stdin")
                .context("loading from stdin")?
        }
    };
    for image in &images {
        if image.names.is_empty() {
            outln!("Loaded image: {}", image.id);
        }
        for name in &image.names {
            outln!("Loaded image: {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
