//! `GET /system/df`: images (with their container counts), containers and volumes as
//! Docker's disk usage record, from the same list calls `images`, `ps` and `volume ls`
//! make; `LayersSize` is every layer counted once (`Store::layers_size`). berth keeps no
//! build cache beside its layers (`BuildCache` is empty) and measures neither containers'
//! writable layers (`SizeRw` 0) nor volumes (`UsageData.Size` -1, as Docker does when it
//! has not).

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use berth_run::volumes::Volumes;
use serde_json::{json, Value};

use crate::docker_shape::list_record;
use crate::error::ApiResult;
use crate::images::docker_summary;
use crate::state::{blocking, AppState};

/// `GET /system/df`.
pub async fn df(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    blocking(&st, |engine| {
        let store = engine.store();
        let containers = engine.list()?;
        let mut per_image: HashMap<String, usize> = HashMap::new();
        for c in &containers {
            if let Some(id) = &c.image_id {
                *per_image.entry(id.to_string()).or_default() += 1;
            }
        }
        let mut images = Vec::new();
        for img in store.list_images()? {
            let count = per_image.get(&img.id.to_string()).copied().unwrap_or(0);
            let summary = store.image_summary(&img, count, true)?;
            let mut v = docker_summary(summary);
            v["Containers"] = json!(count);
            images.push(v);
        }
        let containers: Vec<Value> = containers
            .iter()
            .map(|c| {
                let mut v = list_record(c);
                v["SizeRw"] = json!(0);
                v["SizeRootFs"] = json!(0);
                v
            })
            .collect();
        let volumes: Vec<Value> = Volumes::open(store.root())?
            .list()?
            .iter()
            .map(|v| {
                json!({
                    "Name": v.name,
                    "Driver": "local",
                    "Mountpoint": v.mountpoint,
                    "CreatedAt": v.created.to_rfc3339(),
                    "Labels": {},
                    "Scope": "local",
                    "Options": {},
                    "UsageData": { "Size": -1, "RefCount": -1 },
                })
            })
            .collect();
        Ok(Json(json!({
            "LayersSize": store.layers_size()?,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        })))
    })
    .await
}
