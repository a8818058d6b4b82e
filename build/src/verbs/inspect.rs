//! What `inspect` and `containers` show of working containers, in Buildah 1.28's shapes:
//! [`inspect`]'s record (`Type`, `FromImage…`, `Container`, `ContainerID`, `MountPoint`,
//! `OCIv1`, `Docker`, `History`, the defaults a `run` gets), and [`ContainerRow`], one row of
//! `containers` (`--json`'s lower-case keys; `--format`'s Go names are the front end's).

use berth_image_store::Store;
use std::collections::BTreeMap;

use oci_spec::image::ImageConfiguration;
use serde::Serialize;
use serde_json::{json, Value};

use super::mount::snapshot;
use super::record::{Records, WorkingContainer};
use crate::error::Result;

/// One row of `containers` (Buildah's JSON names).
#[derive(Debug, Clone, Serialize)]
pub struct ContainerRow {
    pub id: String,
    /// A working container (`false`: another of the store's containers, with `--all`).
    pub builder: bool,
    /// The base image's id in hex (empty for scratch).
    pub imageid: String,
    /// The base image's name (`scratch` for none).
    pub imagename: String,
    pub containername: String,
}

impl ContainerRow {
    pub fn of(c: &WorkingContainer) -> ContainerRow {
        ContainerRow {
            id: c.id.clone(),
            builder: true,
            imageid: c
                .from_image_id
                .as_deref()
                .map(|i| i.trim_start_matches("sha256:").to_string())
                .unwrap_or_default(),
            imagename: c
                .from_image_name
                .clone()
                .unwrap_or_else(|| c.from_image.clone()),
            containername: c.name.clone(),
        }
    }
}

/// Every working container as `containers` lists it.
pub fn rows(store: &Store) -> Result<Vec<ContainerRow>> {
    Ok(Records::new(store)
        .list()?
        .iter()
        .map(ContainerRow::of)
        .collect())
}

/// Buildah's inspect record of a working container, its fields in Buildah's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildahInspect {
    #[serde(rename = "Type")]
    pub kind: String,
    pub from_image: String,
    #[serde(rename = "FromImageID")]
    pub from_image_id: String,
    pub from_image_digest: String,
    /// The image config as JSON text.
    pub config: String,
    /// The base image's manifest as JSON text (empty for scratch).
    pub manifest: String,
    pub container: String,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// Where `mount` has it mounted (empty when not mounted).
    pub mount_point: String,
    pub process_label: String,
    pub mount_label: String,
    pub image_annotations: BTreeMap<String, String>,
    pub image_created_by: String,
    /// The OCI config (Docker's extra fields are under `Docker`, as Buildah shows them).
    #[serde(rename = "OCIv1")]
    pub oci_v1: ImageConfiguration,
    pub docker: Value,
    pub default_mounts_file_path: String,
    pub isolation: String,
    pub namespace_options: Vec<Value>,
    pub capabilities: Vec<String>,
    pub configure_network: String,
    #[serde(rename = "CNIPluginPath")]
    pub cni_plugin_path: String,
    #[serde(rename = "CNIConfigDir")]
    pub cni_config_dir: String,
    #[serde(rename = "IDMappingOptions")]
    pub id_mapping_options: Value,
    pub history: Vec<oci_spec::image::History>,
    pub devices: Vec<Value>,
}

/// Buildah's inspect record of working container `name`.
pub fn inspect(store: &Store, name: &str) -> Result<BuildahInspect> {
    let c = Records::new(store).find(name)?;
    let state = c.state(store)?;
    let (snap, mounted) = snapshot(store, &c)?;
    let mut oci = state.config.clone();
    oci.set_created(Some(c.created.clone()));
    let mut docker_inner = serde_json::to_value(oci.config()).unwrap_or_else(|_| json!({}));
    let mut with_extras = json!({ "config": docker_inner.take() });
    state.extras.merge_into(&mut with_extras);
    let docker_inner = with_extras["config"].take();
    let manifest = match &c.from_image_digest {
        Some(d) => d
            .parse()
            .ok()
            .and_then(|d| {
                store
                    .content()
                    .read_small(&d, berth_image_store::images::CONFIG_LIMIT)
                    .ok()
            })
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        None => String::new(),
    };
    let mut annotations = BTreeMap::from([
        (
            "org.opencontainers.image.base.digest".to_string(),
            c.from_image_digest.clone().unwrap_or_default(),
        ),
        (
            "org.opencontainers.image.base.name".to_string(),
            c.from_image_name.clone().unwrap_or_default(),
        ),
    ]);
    annotations.extend(c.annotations.clone());
    let namespace_options = ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]
        .iter()
        .map(|n| json!({"Name": n, "Host": matches!(*n, "cgroup" | "user"), "Path": ""}))
        .collect();
    let mut capabilities: Vec<String> = berth_run::caps::DEFAULT_CAPS
        .iter()
        .map(|c| format!("CAP_{c}"))
        .collect();
    capabilities.sort_unstable();
    let mut config = serde_json::to_value(&oci).unwrap_or(Value::Null);
    state.extras.merge_into(&mut config);
    Ok(BuildahInspect {
        kind: "buildah 0.0.1".into(),
        from_image: c.from_image_name.clone().unwrap_or_default(),
        from_image_id: c
            .from_image_id
            .as_deref()
            .map(|i| i.trim_start_matches("sha256:").to_string())
            .unwrap_or_default(),
        from_image_digest: c.from_image_digest.clone().unwrap_or_default(),
        config: config.to_string(),
        manifest,
        container: c.name.clone(),
        container_id: c.id.clone(),
        mount_point: if mounted {
            snap.mountpoint.display().to_string()
        } else {
            String::new()
        },
        process_label: String::new(),
        mount_label: String::new(),
        image_annotations: annotations,
        image_created_by: c.created_by.clone().unwrap_or_default(),
        docker: json!({
            "created": c.created,
            "container_config": docker_inner,
            "config": docker_inner,
            "architecture": state.config.architecture().to_string(),
            "os": state.config.os().to_string(),
        }),
        history: state.config.history().clone().unwrap_or_default(),
        oci_v1: oci,
        default_mounts_file_path: String::new(),
        isolation: "oci".into(),
        namespace_options,
        capabilities,
        configure_network: "NetworkDefault".into(),
        cni_plugin_path: String::new(),
        cni_config_dir: String::new(),
        id_mapping_options: json!({
            "HostUIDMapping": true,
            "HostGIDMapping": true,
            "UIDMap": [],
            "GIDMap": [],
        }),
        devices: Vec::new(),
    })
}

/// Buildah's inspect record of image `name` (`inspect --type image`): the image's config,
/// manifest and history under the container record's names.
pub fn inspect_image(store: &Store, name: &str) -> Result<Value> {
    let image = store.lookup_image(name)?;
    let state = crate::image::ImageState::from_image(store, &image)?;
    let read = |d: &berth_layers::Digest| {
        store
            .content()
            .read_small(d, berth_image_store::images::CONFIG_LIMIT)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let config = read(&image.id)?;
    let oci: Value = serde_json::from_str(&config).unwrap_or(Value::Null);
    Ok(json!({
        "Type": "buildah 0.0.1",
        "FromImage": image.names.first().map(|n| n.to_string()).unwrap_or_default(),
        "FromImageID": image.hex_id(),
        "FromImageDigest": image.manifest_digest.to_string(),
        "Config": config,
        "Manifest": read(&image.manifest_digest)?,
        "Container": "",
        "ContainerID": "",
        "MountPoint": "",
        "OCIv1": oci,
        "Docker": {
            "config": oci.get("config").cloned().unwrap_or(Value::Null),
            "architecture": state.config.architecture().to_string(),
            "os": state.config.os().to_string(),
        },
        "History": state.config.history().clone().unwrap_or_default(),
    }))
}

/// A working container as `berth ps --external` lists it, as Podman lists Buildah's:
/// command `buildah`, state `storage`, status `Storage`.
pub fn ps_summary(c: &WorkingContainer) -> berth_run::summary::ContainerSummary {
    let created = chrono::DateTime::parse_from_rfc3339(&c.created)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let row = ContainerRow::of(c);
    berth_run::summary::ContainerSummary {
        auto_remove: false,
        command: vec!["buildah".to_string()],
        created_at: berth_run::stats::human_age(Some(created)),
        exited: false,
        exited_at: 0,
        exit_code: 0,
        id: c.id.clone(),
        image: row.imagename,
        image_id: row.imageid,
        is_infra: false,
        labels: None,
        mounts: Vec::new(),
        names: vec![c.name.clone()],
        namespaces: Default::default(),
        networks: Vec::new(),
        pid: 0,
        pod: String::new(),
        pod_name: String::new(),
        ports: None,
        size: None,
        started_at: 0,
        state: "storage".to_string(),
        status: "Storage".to_string(),
        created,
    }
}

/// Every working container as `ps --external` lists it.
pub fn ps_summaries(store: &Store) -> Result<Vec<berth_run::summary::ContainerSummary>> {
    Ok(Records::new(store).list()?.iter().map(ps_summary).collect())
}
