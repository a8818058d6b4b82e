//! `berth buildah containers` and `inspect`: Buildah 1.28's columns, JSON and templates over
//! the records of `berth_build::verbs::inspect`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_build::verbs;
use clap::Args;
use serde_json::{json, Value};

use crate::template::{is_json, ListFormat};
use crate::Context;

#[derive(Args)]
pub struct ContainersArgs {
    /// Also list the store's other containers.
    #[arg(short, long)]
    all: bool,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    /// Print only full container ids.
    #[arg(short, long)]
    quiet: bool,
    /// Do not print the header.
    #[arg(short, long)]
    noheading: bool,
    /// Do not truncate ids.
    #[arg(long)]
    notruncate: bool,
    /// A Go template over .ContainerID, .Builder, .ImageID, .ImageName, .ContainerName.
    #[arg(long)]
    format: Option<String>,
}

pub fn containers(ctx: &Context, a: ContainersArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let mut rows = verbs::inspect::rows(&store)?;
    if a.all {
        let engine = berth_run::Engine::new(&store, &crate::containers::runroot(ctx))?;
        for c in engine.list()? {
            rows.push(verbs::inspect::ContainerRow {
                id: c.id.clone(),
                builder: false,
                imageid: c
                    .image_id
                    .as_ref()
                    .map(|d| d.digest().to_string())
                    .unwrap_or_default(),
                imagename: c.image_name.clone(),
                containername: c.name.clone(),
            });
        }
    }
    if a.json || a.format.as_deref().is_some_and(is_json) {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if a.quiet {
        for r in &rows {
            outln!("{}", r.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cut = |s: &str| -> String {
        if a.notruncate {
            s.to_string()
        } else {
            s.chars().take(12).collect()
        }
    };
    if let Some(f) = &a.format {
        let values: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "ContainerID": r.id, "Builder": if r.builder { "   *" } else { "" },
                    "ImageID": r.imageid, "ImageName": r.imagename,
                    "ContainerName": r.containername,
                })
            })
            .collect();
        let headers = json!({
            "ContainerID": "CONTAINER ID", "Builder": "BUILDER", "ImageID": "IMAGE ID",
            "ImageName": "IMAGE NAME", "ContainerName": "CONTAINER NAME",
        });
        ListFormat::new(Some(f), f, a.noheading, "containers")?.print(
            &headers,
            &values,
            "containers",
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    // Buildah's own columns (fmt widths, not a tab writer): ids 12 wide, or 64 whole (and
    // then one space less after the first header, as Buildah prints it).
    let w = if a.notruncate { 64 } else { 12 };
    let gap = if a.notruncate { " " } else { "  " };
    if !a.noheading {
        outln!(
            "{:<w$}{gap}{:<8} {:<w$} {:<32} {}",
            "CONTAINER ID",
            "BUILDER",
            "IMAGE ID",
            "IMAGE NAME",
            "CONTAINER NAME"
        );
    }
    for r in &rows {
        outln!(
            "{:<w$}  {:<8} {:<w$} {:<32} {}",
            cut(&r.id),
            if r.builder { "   *" } else { "" },
            cut(&r.imageid),
            r.imagename,
            r.containername
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct InspectArgs {
    /// container (default) or image.
    #[arg(short, long = "type", default_value = "container")]
    kind: String,
    /// A Go template over the record.
    #[arg(short, long)]
    format: Option<String>,
    /// The working container (or image).
    name: String,
}

pub fn inspect(ctx: &Context, a: InspectArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    // The JSON printed from the typed record keeps Buildah's field order; templates read
    // the record as a value.
    let (record, pretty) = match a.kind.as_str() {
        "container" => {
            let typed = verbs::inspect::inspect(&store, &a.name)?;
            (
                serde_json::to_value(&typed)?,
                serde_json::to_string_pretty(&typed)?,
            )
        }
        "image" => {
            let value = verbs::inspect::inspect_image(&store, &a.name)?;
            let pretty = serde_json::to_string_pretty(&value)?;
            (value, pretty)
        }
        other => bail!("inspect --type {other:?}: use container or image"),
    };
    match a.format.as_deref() {
        None | Some("") | Some("json") => outln!("{pretty}"),
        Some(f) => {
            let t = crate::template::Template::parse(f, "inspect")?;
            let record = go_names(record);
            outln!(
                "{}",
                t.render_value(&record, "inspect")?.trim_end_matches('\n')
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The record as Buildah's templates see it: `OCIv1` and `Docker` hold Go structs, whose
/// fields templates name (`.OCIv1.Config.Cmd`, `.OCIv1.RootFS.DiffIDs`), not their JSON keys.
/// The image's runtime config already has Go's names; its maps (labels, ports) keep their keys.
fn go_names(mut record: Value) -> Value {
    fn go_name(key: &str) -> String {
        match key {
            "os" => "OS".into(),
            "rootfs" => "RootFS".into(),
            "diff_ids" => "DiffIDs".into(),
            "container_config" => "ContainerConfig".into(),
            "os.version" => "OSVersion".into(),
            "os.features" => "OSFeatures".into(),
            _ => key
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }
    /// Rename `obj`'s keys; `nested` lists the keys whose objects (or arrays of objects) are
    /// Go structs too.
    fn rename(v: &mut Value, nested: &[&str]) {
        let Some(obj) = v.as_object_mut() else {
            return;
        };
        let old = std::mem::take(obj);
        for (k, mut inner) in old {
            if nested.contains(&k.as_str()) {
                match &mut inner {
                    Value::Array(items) => items.iter_mut().for_each(|i| rename(i, &[])),
                    other => rename(other, &[]),
                }
            }
            obj.insert(go_name(&k), inner);
        }
    }
    for key in ["OCIv1", "Docker"] {
        if let Some(v) = record.get_mut(key) {
            rename(v, &["rootfs", "history"]);
        }
    }
    record
}
