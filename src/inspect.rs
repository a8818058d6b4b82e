//! Top-level `inspect [--type T] [--format F] NAME…`: each name is a container, an image or a
//! volume ([`berth_run::inspect::find`], Podman's order), printed in its own inspect shape;
//! `docker://REF` inspects a registry's image ([`images::inspect`]).

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use berth_run::inspect::{find, Found, Kind};
use berth_run::Engine;
use clap::Args;

use crate::containers::{enter, runroot};
use crate::images;
use crate::output::print_records;
use crate::Context;

#[derive(Args)]
pub struct ObjectInspectArgs {
    /// Which kind of object to look for: container, image, volume or all.
    #[arg(short = 't', long = "type", default_value = "all", value_name = "TYPE")]
    kind: String,
    #[command(flatten)]
    image: images::InspectArgs,
}

pub fn inspect(ctx: &Context, args: ObjectInspectArgs) -> Result<ExitCode> {
    let kind: Kind = args.kind.parse()?;
    if args
        .image
        .names()
        .iter()
        .any(|n| n.starts_with("docker://"))
    {
        return images::inspect(ctx, args.image);
    }
    args.image.local_only()?;
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let mut records = Vec::new();
    let mut missing = None;
    for name in args.image.names() {
        match find(&engine, name, kind).with_context(|| format!("inspecting {name}"))? {
            Some(Found::Container(c)) => records.push(serde_json::to_value(&c)?),
            Some(Found::Image(img)) => {
                records.push(serde_json::to_value(store.inspect_image(&img)?)?)
            }
            Some(Found::Volume(v)) => records.push(crate::containers::volumes::volume_json(&v)),
            None => {
                let what = match kind {
                    Kind::All => format!("no such object: {name:?}"),
                    Kind::Container => format!("no such container {name}"),
                    Kind::Image => format!("{name}: image not known"),
                    Kind::Volume => format!("no such volume {name}"),
                };
                missing.get_or_insert(what);
            }
        }
    }
    print_records(&records, args.image.format())?;
    match missing {
        // Podman prints what it found, then the first name it did not.
        Some(m) => Err(anyhow::anyhow!("inspecting object: {m}")),
        None => Ok(ExitCode::SUCCESS),
    }
}
