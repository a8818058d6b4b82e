//! `image tree IMG [--whatrequires]`: the image's layers as Podman prints them
//! ([`berth_image_store::tree`]).

use std::process::ExitCode;

use anyhow::Result;
use berth_run::stats::human_size_with_precision;
use clap::Args;

use crate::Context;

#[derive(Args)]
pub struct TreeArgs {
    /// Show all child images and layers of the specified image.
    #[arg(long)]
    whatrequires: bool,
    /// Image (name or id).
    image: String,
}

/// Go's `units.HumanSizeWithPrecision(size, 4)`, as `image tree` sizes are.
fn size(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

pub fn tree(ctx: &Context, args: TreeArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let image = store.lookup_image(&args.image)?;
    let tree = store.image_tree(&image, args.whatrequires)?;
    outln!("Image ID: {}", image.short_id());
    outln!("Tags:     [{}]", image.name_texts().join(" "));
    outln!("Size:     {}", size(tree.size));
    outln!("Image Layers");
    let n = tree.layers.len();
    for (i, l) in tree.layers.iter().enumerate() {
        let branch = if i + 1 == n { "└──" } else { "├──" };
        let mut line = format!(
            "{branch} ID: {} Size: {:>7}",
            &l.chain_id.digest()[..12],
            size(l.size)
        );
        if !l.top_of.is_empty() {
            line.push_str(&format!(" Top Layer of: [{}]", l.top_of.join(" ")));
        }
        outln!("{line}");
    }
    outln!();
    Ok(ExitCode::SUCCESS)
}
