//! `diff`, `container diff` and `image diff`: a container's or an image's changes as Podman
//! lists them (`A`/`C`/`D` lines sorted by path, or `--format json`), from
//! [`berth_image_store::changes`]. One argument: a container against its image, an image's
//! top layer against its parent; two: the first against the second.

use std::process::ExitCode;

use anyhow::Result;
use berth_image_store::changes::{changes, Change, ChangesJson, LayerStack};
use berth_image_store::Store;
use berth_run::{Engine, RunError};
use clap::Args;

use super::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct DiffArgs {
    /// Change the output format (json).
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Container or image (name or id).
    target: String,
    /// The container or image to compare with (default: the first one's parent).
    other: Option<String>,
}

/// Which objects a `diff` may name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DiffOf {
    /// A container, else an image (`diff`).
    Any,
    Container,
    Image,
}

/// A named object as a view, or `None` when there is none of that kind.
fn stack(engine: &Engine<'_>, store: &Store, name: &str, of: DiffOf) -> Result<Option<Stacked>> {
    if of != DiffOf::Image {
        match engine.get(name) {
            Ok(c) => {
                let layers = engine.container_stack(&c)?;
                return Ok(Some(Stacked::Container(Box::new(c), layers)));
            }
            Err(RunError::NoSuchContainer(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if of != DiffOf::Container {
        if let Ok(img) = store.lookup_image(name) {
            let layers = store.image_stack(&img)?;
            return Ok(Some(Stacked::Image(Box::new(img), layers)));
        }
    }
    Ok(None)
}

/// A container's or an image's layers, top first.
enum Stacked {
    Container(Box<berth_run::container::Container>, LayerStack),
    Image(Box<berth_image_store::ImageRecord>, LayerStack),
}

impl Stacked {
    fn layers(&self) -> &LayerStack {
        match self {
            Stacked::Container(_, s) | Stacked::Image(_, s) => s,
        }
    }
}

/// `berth diff`, `container diff` (`of`: Container) and `image diff` (`of`: Image).
pub fn diff(ctx: &Context, args: DiffArgs, of: DiffOf) -> Result<ExitCode> {
    enter(ctx)?;
    let json = super::json_only(args.format.as_deref())?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    let not_found = |name: &str| {
        let what = match of {
            DiffOf::Any => "no container or image",
            DiffOf::Container => "no container",
            DiffOf::Image => "no image",
        };
        anyhow::anyhow!("{name} not found: {what} with that name or id")
    };
    let to = stack(&engine, &store, &args.target, of)?.ok_or_else(|| not_found(&args.target))?;
    let list: Vec<Change> = match (&args.other, &to) {
        (Some(o), _) => {
            let from = stack(&engine, &store, o, of)?.ok_or_else(|| not_found(o))?;
            changes(from.layers(), to.layers())?
        }
        (None, Stacked::Container(c, _)) => engine.changes(c)?,
        (None, Stacked::Image(img, _)) => store.image_changes(img)?,
    };
    if json {
        outln!(
            "{}",
            crate::output::go_json(&ChangesJson::of(&list), "     ")?
        );
    } else {
        for c in &list {
            outln!("{} {}", c.kind.letter(), c.path);
        }
    }
    Ok(ExitCode::SUCCESS)
}
