//! `POST /images/prune` (filters `dangling`, `until`, `label`/`label!`:
//! `Store::prune_images_filtered`, what `image prune` calls) and `POST /containers/prune`
//! (`Engine::prune_stopped`, what `container prune` calls), answered in Docker's shape.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use berth_image_store::prune_filter::{ImagePruneFilter, LabelFilter};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filters::parse_filters;
use crate::state::{blocking, AppState};

/// Docker's `until`: a Unix time (seconds, maybe fractional), an RFC 3339 time, or a Go
/// duration before now (`24h`).
fn parse_until(v: &str, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    if let Ok(secs) = v.parse::<f64>() {
        return DateTime::from_timestamp(secs as i64, 0)
            .ok_or_else(|| ApiError::bad_request(format!("until {v:?}: out of range")));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    let ns = berth_build::extras::duration_ns(v)
        .map_err(|e| ApiError::bad_request(format!("until: {e}")))?;
    Ok(now - chrono::Duration::nanoseconds(ns as i64))
}

/// The image filter of a prune's `filters`.
fn image_filter(q: &HashMap<String, String>, now: DateTime<Utc>) -> ApiResult<ImagePruneFilter> {
    let mut filter = ImagePruneFilter::default();
    for (key, values) in parse_filters(q)? {
        for v in values {
            match key.as_str() {
                "dangling" => match v.as_str() {
                    "true" | "1" => filter.all = false,
                    "false" | "0" => filter.all = true,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "dangling {v:?}: true or false"
                        )))
                    }
                },
                "until" => filter.until = Some(parse_until(&v, now)?),
                "label" => filter.labels.push(LabelFilter::parse(&v, false)),
                "label!" => filter.labels.push(LabelFilter::parse(&v, true)),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "invalid filter {other:?}: dangling, until, label or label!"
                    )))
                }
            }
        }
    }
    Ok(filter)
}

/// `POST /images/prune?filters=`.
pub async fn images(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filter = image_filter(&q, Utc::now())?;
    blocking(&st, move |engine| {
        let report = engine.store().prune_images_filtered(&filter)?;
        let deleted: Vec<Value> = report
            .images
            .iter()
            .map(|id| json!({ "Deleted": id.to_string() }))
            .collect();
        Ok(Json(json!({
            "ImagesDeleted": if deleted.is_empty() { Value::Null } else { Value::Array(deleted) },
            "SpaceReclaimed": report.bytes_freed,
        })))
    })
    .await
}

/// `POST /containers/prune` (filters are not served: every stopped container goes).
pub async fn containers(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    if !parse_filters(&q)?.is_empty() {
        return Err(ApiError::not_implemented(
            "container prune filters are not served",
        ));
    }
    blocking(&st, move |engine| {
        let ids = engine.prune_stopped()?;
        Ok(Json(json!({
            "ContainersDeleted": if ids.is_empty() { Value::Null } else { json!(ids) },
            "SpaceReclaimed": 0,
        })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_filters_as_docker_sends_them() {
        let now = DateTime::from_timestamp(100_000, 0).unwrap();
        let q = |f: &str| HashMap::from([("filters".to_string(), f.to_string())]);
        let f = image_filter(
            &q(r#"{"dangling":["false"],"until":["1h"],"label":["a=b"],"label!":["c"]}"#),
            now,
        )
        .unwrap();
        assert!(f.all);
        assert_eq!(f.until, DateTime::from_timestamp(100_000 - 3600, 0));
        assert_eq!(
            f.labels,
            [
                LabelFilter::parse("a=b", false),
                LabelFilter::parse("c", true)
            ]
        );
        let f = image_filter(&q(r#"{"dangling":{"true":true},"until":["50"]}"#), now).unwrap();
        assert!(!f.all);
        assert_eq!(f.until, DateTime::from_timestamp(50, 0));
        assert!(image_filter(&q(r#"{"nosuch":["x"]}"#), now).is_err());
        assert!(image_filter(&q(r#"{"until":["soon"]}"#), now).is_err());
    }
}
