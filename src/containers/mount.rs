//! `mount` and `umount` (`container mount|umount|unmount`): a container's rootfs mounted for
//! the user, with Podman's mount count ([`berth_run::engine::mount`]); `mount` alone lists
//! the mounted containers. As root; a plain user runs them inside `berth unshare` (where
//! berth's mount namespace is), as Podman asks for `podman unshare`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_run::Engine;
use clap::Args;
use serde::Serialize;

use super::{enter, runroot};
use crate::Context;

#[derive(Args)]
pub struct MountArgs {
    /// Mount all containers.
    #[arg(short, long)]
    all: bool,
    /// Print the mounted containers in the specified format (json).
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Do not truncate output.
    #[arg(long = "no-trunc", alias = "notruncate")]
    no_trunc: bool,
    /// Containers (name or id); none: list the mounted ones.
    containers: Vec<String>,
}

#[derive(Args)]
pub struct UmountArgs {
    /// Unmount all of the currently mounted containers.
    #[arg(short, long)]
    all: bool,
    /// Force the complete unmount of the specified mounted containers.
    #[arg(short, long)]
    force: bool,
    /// Containers (name or id).
    containers: Vec<String>,
}

/// Podman's `mount --format json` record.
#[derive(Serialize)]
struct MountRecord {
    id: String,
    names: Vec<String>,
    mountpoint: String,
}

/// Refuse outside `berth unshare` for a plain user, in Podman's words.
fn require_root_or_unshare(command: &str) -> Result<()> {
    if berth_image_store::store::is_host_root()
        || std::env::var_os(berth_run::rootless::UNSHARE_ENV).is_some()
    {
        return Ok(());
    }
    bail!("cannot run command \"berth {command}\" in rootless mode, must execute `berth unshare` first")
}

/// `berth mount [C…]`.
pub fn mount(ctx: &Context, args: MountArgs) -> Result<ExitCode> {
    require_root_or_unshare("mount")?;
    enter(ctx)?;
    let json = super::json_only(args.format.as_deref())?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    if args.containers.is_empty() && !args.all {
        let mounted = engine.mounted_containers()?;
        if json {
            let records: Vec<MountRecord> = mounted
                .iter()
                .map(|(c, path)| MountRecord {
                    id: c.id.clone(),
                    names: vec![c.name.clone()],
                    mountpoint: path.display().to_string(),
                })
                .collect();
            outln!("{}", crate::output::go_json(&records, "    ")?);
            return Ok(ExitCode::SUCCESS);
        }
        for (c, path) in mounted {
            let id = if args.no_trunc { &c.id } else { c.short_id() };
            outln!("{id}  {}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let targets = if args.all {
        engine.list()?
    } else {
        args.containers
            .iter()
            .map(|n| engine.get(n))
            .collect::<berth_run::Result<Vec<_>>>()?
    };
    for c in targets {
        let path = engine.mount_container(&c)?;
        outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `berth umount C…|--all`: prints each container as given (ids for `--all`).
pub fn umount(ctx: &Context, args: UmountArgs) -> Result<ExitCode> {
    require_root_or_unshare("umount")?;
    enter(ctx)?;
    let store = ctx.store()?;
    let engine = Engine::new(&store, &runroot(ctx))?;
    if args.all {
        for (c, _) in engine.mounted_containers()? {
            engine.unmount_container(&c, true)?;
            outln!("{}", c.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.containers.is_empty() {
        bail!("you must provide at least one name or id (or --all)");
    }
    for name in &args.containers {
        let c = engine.get(name)?;
        engine.unmount_container(&c, args.force)?;
        outln!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}
