//! Docker's `filters` query parameter: a JSON map of lists (or the older map of maps), as
//! the list and prune endpoints take it.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// `filters` as Docker sends it: a JSON map of lists (or the older map of maps).
pub fn parse_filters(q: &HashMap<String, String>) -> ApiResult<BTreeMap<String, Vec<String>>> {
    let Some(raw) = q.get("filters").filter(|f| !f.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let v: HashMap<String, Value> = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("filters: invalid JSON: {e}")))?;
    let mut out = BTreeMap::new();
    for (k, v) in v {
        let values = match v {
            Value::Array(a) => a
                .into_iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            Value::Object(m) => m.into_iter().map(|(k, _)| k).collect(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "filters: {k}: a list of strings"
                )))
            }
        };
        out.insert(k, values);
    }
    Ok(out)
}

/// The filters as kind and value pairs, as the libraries' filter parsers take them.
pub fn pairs(filters: &BTreeMap<String, Vec<String>>) -> Vec<(&str, &str)> {
    filters
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_str())))
        .collect()
}

/// Refuse a filter kind not in `allowed` (Docker's words), before anything is listed.
pub fn allow_only(filters: &BTreeMap<String, Vec<String>>, allowed: &[&str]) -> ApiResult<()> {
    match filters.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        None => Ok(()),
    }
}

/// Whether `labels` has `want`: `KEY` or `KEY=VALUE`.
pub fn has_label(labels: &BTreeMap<String, String>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want),
    }
}

/// A prune's filters: `label` (every one must hold) and `label!` (none may), and the kinds
/// in `ignored` accepted and left aside; any other kind is refused.
#[derive(Debug, Default)]
pub struct PruneLabels {
    with: Vec<String>,
    without: Vec<String>,
}

impl PruneLabels {
    pub fn parse(
        filters: BTreeMap<String, Vec<String>>,
        ignored: &[&str],
    ) -> ApiResult<PruneLabels> {
        let mut out = PruneLabels::default();
        for (kind, values) in filters {
            match kind.as_str() {
                "label" => out.with.extend(values),
                "label!" => out.without.extend(values),
                k if ignored.contains(&k) => {}
                other => {
                    return Err(ApiError::bad_request(format!(
                        "invalid filter '{other}': berth prunes by label only"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Whether an object with `labels` is pruned.
    pub fn keeps(&self, labels: &BTreeMap<String, String>) -> bool {
        self.with.iter().all(|w| has_label(labels, w))
            && !self.without.iter().any(|w| has_label(labels, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn filters_parse_both_shapes() {
        let mut q = HashMap::new();
        q.insert(
            "filters".to_string(),
            r#"{"status":["exited"],"name":{"web":true}}"#.to_string(),
        );
        let f = parse_filters(&q).unwrap();
        assert_eq!(f["status"], ["exited"]);
        assert_eq!(f["name"], ["web"]);
        assert!(allow_only(&f, &["status", "name"]).is_ok());
        assert_eq!(
            allow_only(&f, &["name"]).unwrap_err().message,
            "invalid filter 'status'"
        );
        let labels = BTreeMap::from([("a".to_string(), "1".to_string())]);
        let p = PruneLabels::parse(
            BTreeMap::from([
                ("label".to_string(), vec!["a".to_string()]),
                ("label!".to_string(), vec!["a=2".to_string()]),
            ]),
            &[],
        )
        .unwrap();
        assert!(p.keeps(&labels));
        assert!(!p.keeps(&BTreeMap::new()));
        assert!(PruneLabels::parse(f.clone(), &["name"]).is_err());
        q.insert("filters".to_string(), "{".to_string());
        assert_eq!(
            parse_filters(&q).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
