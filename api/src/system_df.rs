//! `GET /system/df`: images (with their container counts and shared sizes), containers
//! (`SizeRw`: their writable layer) and volumes (`UsageData`: size and users) as Docker's
//! disk usage record, from `Engine::disk_usage` (what `berth system df` prints);
//! `LayersSize` is every layer counted once (`Store::layers_size`). berth keeps no build
//! cache beside its layers (`BuildCache` is empty).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::docker_shape::list_record;
use crate::error::ApiResult;
use crate::images::docker_summary;
use crate::state::{blocking, AppState};

/// `GET /system/df`.
pub async fn df(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    blocking(&st, |engine| {
        let du = engine.disk_usage()?;
        let images: Vec<Value> = du
            .images
            .into_iter()
            .map(|i| {
                let count = i.summary.containers;
                let mut v = docker_summary(i.summary);
                v["Containers"] = json!(count);
                v["SharedSize"] = json!(i.shared_size);
                v
            })
            .collect();
        let containers: Vec<Value> = du
            .containers
            .iter()
            .map(|c| {
                let mut v = list_record(&c.container);
                v["SizeRw"] = json!(c.size);
                v["SizeRootFs"] = json!(0);
                v
            })
            .collect();
        let volumes: Vec<Value> = du
            .volumes
            .iter()
            .map(|u| {
                let v = &u.volume;
                json!({
                    "Name": v.name,
                    "Driver": "local",
                    "Mountpoint": v.mountpoint,
                    "CreatedAt": v.created.to_rfc3339(),
                    "Labels": {},
                    "Scope": "local",
                    "Options": {},
                    "UsageData": { "Size": u.size, "RefCount": u.links },
                })
            })
            .collect();
        Ok(Json(json!({
            "LayersSize": engine.store().layers_size()?,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        })))
    })
    .await
}
