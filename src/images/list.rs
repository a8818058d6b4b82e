//! `berth images` (`image ls`): one row per name of each image (`<none>` for an image without
//! one), newest first, as Podman 4.3's: its table, `--format json` records (berth-image-store's
//! [`ImageSummary`], once per row) and Go templates over its `imageReporter` fields, read
//! from the same records.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Result;
use berth_image_store::list_filter::ImageFilters;
use berth_image_store::names::{name_matches, split_repo_tag};
use berth_image_store::summary::ImageSummary;
use berth_image_store::{ImageRecord, Store};
use clap::Args;
use serde_json::{json, Value};

use crate::output::{go_json, go_time, human_age, image_size};
use crate::template::{is_json, ListFormat};
use crate::Context;

#[derive(Args)]
pub struct ImagesArgs {
    /// Show only image ids.
    #[arg(short, long)]
    quiet: bool,
    /// Show manifest digests.
    #[arg(long)]
    digests: bool,
    /// `json`, or a Go template (`{{.ID}} {{.Repository}}:{{.Tag}}`; `table …` adds headers).
    #[arg(long)]
    format: Option<String>,
    /// Show all images (accepted for compatibility; berth has no intermediate images yet).
    #[arg(short, long)]
    all: bool,
    /// Do not truncate ids.
    #[arg(long)]
    no_trunc: bool,
    /// Do not print the header.
    #[arg(short, long = "noheading")]
    noheading: bool,
    /// Only images matching: dangling=, label=, label!=, reference=, before=, since=, until=,
    /// id=, digest=, containers=, intermediate=, readonly= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Show only images with this name (repository, or repository:tag).
    image: Option<String>,
}

/// One row: an image under one of its names.
struct Row<'a> {
    image: &'a ImageRecord,
    repository: String,
    tag: String,
}

pub fn list(ctx: &Context, args: ImagesArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let filters = ImageFilters::parse_texts(&store, &args.filter)?;
    let mut images = filters.apply(&store, store.list_images()?)?;
    if let Some(filter) = &args.image {
        images.retain(|img| img.name_texts().iter().any(|n| name_matches(n, filter)));
    }
    // Podman's default order: newest first.
    images.sort_by_key(|img| std::cmp::Reverse(img.created));
    let rows = rows(&images);
    let json = args.format.as_deref().is_some_and(is_json);
    if args.quiet && !json {
        let mut seen = std::collections::HashSet::new();
        for row in &rows {
            if seen.insert(&row.image.id) {
                outln!("{}", shown_id(row.image, args.no_trunc));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let format = if json {
        None
    } else {
        Some(ListFormat::new(
            args.format.as_deref(),
            &default_format(args.digests),
            args.noheading,
            "images",
        )?)
    };
    let needs = |field: &str| format.as_ref().is_none_or(|f| f.needs(field));
    let containers = if needs("Containers") {
        containers_per_image(&store)?
    } else {
        HashMap::new()
    };
    let mut summaries = HashMap::new();
    for img in &images {
        let used_by = containers.get(img.id.digest()).copied().unwrap_or(0);
        let summary = store.image_summary(img, used_by, needs("Labels"))?;
        summaries.insert(img.id.clone(), summary);
    }
    let summary = |img: &ImageRecord| &summaries[&img.id];
    match format {
        None => {
            let records: Vec<&ImageSummary> = rows.iter().map(|r| summary(r.image)).collect();
            outln!("{}", go_json(&records, "    ")?);
        }
        Some(format) => {
            let values: Vec<Value> = rows
                .iter()
                .map(|r| template_value(r, summary(r.image), args.no_trunc))
                .collect();
            format.print(&headers(), &values, "images")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Podman's table: REPOSITORY TAG [DIGEST] IMAGE ID CREATED SIZE.
fn default_format(digests: bool) -> String {
    let digest = if digests { "{{.Digest}}\t" } else { "" };
    format!("table {{{{.Repository}}}}\t{{{{.Tag}}}}\t{digest}{{{{.ID}}}}\t{{{{.Created}}}}\t{{{{.Size}}}}")
}

/// The rows: an image once per name, once as `<none>` without one.
fn rows(images: &[ImageRecord]) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for image in images {
        if image.names.is_empty() {
            rows.push(Row {
                image,
                repository: "<none>".into(),
                tag: "<none>".into(),
            });
        }
        for name in image.name_texts() {
            let (repo, tag) = split_repo_tag(&name);
            rows.push(Row {
                image,
                repository: repo.to_string(),
                tag: tag.to_string(),
            });
        }
    }
    rows
}

/// How many containers use each image (by id hex).
fn containers_per_image(store: &Store) -> Result<HashMap<String, usize>> {
    let mut out = HashMap::new();
    for c in berth_run::container::Records::open(store.root())?.list()? {
        let id = c.image_id_hex().to_string();
        *out.entry(id).or_insert(0) += 1;
    }
    Ok(out)
}

fn shown_id(img: &ImageRecord, no_trunc: bool) -> String {
    if no_trunc {
        img.id.to_string()
    } else {
        img.short_id().to_string()
    }
}

/// Podman's column names: each field's name split at its capitals, upper-cased.
fn headers() -> Value {
    json!({
        "Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "ParentId": "PARENT ID",
        "RepoTags": "REPO TAGS", "RepoDigests": "REPO DIGESTS", "Created": "CREATED",
        "Size": "SIZE", "SharedSize": "SHARED SIZE", "VirtualSize": "VIRTUAL SIZE",
        "Labels": "LABELS", "Containers": "CONTAINERS", "ReadOnly": "R/O",
        "Dangling": "DANGLING", "Names": "NAMES", "Digest": "DIGEST", "History": "HISTORY",
    })
}

/// A row as templates see it: Podman's `imageReporter` fields and methods over the image's
/// list record.
fn template_value(row: &Row<'_>, s: &ImageSummary, no_trunc: bool) -> Value {
    let age = human_age(row.image.created);
    json!({
        "Repository": row.repository,
        "Tag": row.tag,
        "ID": shown_id(row.image, no_trunc),
        "ParentId": s.parent_id,
        "RepoTags": s.names,
        "RepoDigests": s.repo_digests,
        "Created": age,
        "CreatedSince": age,
        "CreatedAt": go_time(s.created_time()),
        "CreatedTime": go_time(s.created_time()),
        "Size": image_size(s.size),
        "SharedSize": s.shared_size,
        "VirtualSize": s.virtual_size,
        "Labels": s.labels.clone().unwrap_or_default(),
        "Containers": s.containers,
        "ReadOnly": false,
        "Dangling": s.dangling,
        "Names": s.names,
        "Digest": s.digest,
        "History": s.history.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_table_is_podmans() {
        assert_eq!(
            default_format(true),
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"
        );
    }
}
