//! Which events to show: Podman's `--filter KEY=VALUE` and Docker's filters (the same keys).
//! Values of one key are alternatives; different keys must all match.

use std::collections::BTreeMap;

use super::{Event, EventType};

/// Parsed filters, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

/// The keys berth filters on.
const KEYS: &[&str] = &[
    "container",
    "event",
    "image",
    "label",
    "network",
    "pod",
    "type",
    "volume",
];

impl Filters {
    /// No filter: every event.
    pub fn new() -> Filters {
        Filters::default()
    }

    /// Add `KEY=VALUE` (`--filter`); `status` is `event`'s other name.
    pub fn add(&mut self, filter: &str) -> Result<(), String> {
        let (key, value) = filter
            .split_once('=')
            .ok_or_else(|| format!("invalid filter {filter:?}: not KEY=VALUE"))?;
        self.add_pair(key, value)
    }

    /// Add `key` = `value` (Docker's filters JSON gives them apart).
    pub fn add_pair(&mut self, key: &str, value: &str) -> Result<(), String> {
        let key = match key.to_ascii_lowercase().as_str() {
            "status" => "event".to_string(),
            k => k.to_string(),
        };
        if !KEYS.contains(&key.as_str()) {
            return Err(format!(
                "{key} is an invalid filter (valid: {})",
                KEYS.join(", ")
            ));
        }
        self.by_key.entry(key).or_default().push(value.to_string());
        Ok(())
    }

    /// Docker's `filters` query parameter: `{"type":["container"]}` (or the older
    /// `{"type":{"container":true}}`).
    pub fn from_docker_json(json: &str) -> Result<Filters, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("invalid filters: {e}"))?;
        let mut filters = Filters::new();
        let obj = value.as_object().ok_or("invalid filters: not an object")?;
        for (key, values) in obj {
            let values: Vec<String> = match values {
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                serde_json::Value::Object(o) => o
                    .iter()
                    .filter(|(_, on)| on.as_bool() == Some(true))
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => return Err(format!("invalid filters: {key} is not a list")),
            };
            for v in values {
                filters.add_pair(key, &Docker::to_podman_status(key, &v))?;
            }
        }
        Ok(filters)
    }

    /// Whether `event` passes.
    pub fn matches(&self, event: &Event) -> bool {
        self.by_key
            .iter()
            .all(|(key, values)| values.iter().any(|v| matches_one(key, v, event)))
    }
}

fn matches_one(key: &str, value: &str, e: &Event) -> bool {
    let is = |kind| e.kind == kind;
    match key {
        "container" => {
            is(EventType::Container)
                && (e.name == value || (!value.is_empty() && e.id.starts_with(value)))
        }
        "event" => e.status == value,
        "image" => match e.kind {
            EventType::Image => e.name == value || (!value.is_empty() && e.id.starts_with(value)),
            EventType::Container => e.image == value || same_short_name(&e.image, value),
            _ => false,
        },
        "label" => {
            let (k, v) = value.split_once('=').unwrap_or((value, ""));
            e.attributes
                .as_ref()
                .and_then(|a| a.get(k))
                .is_some_and(|have| v.is_empty() || have == v)
        }
        "network" => is(EventType::Network) && (e.name == value || e.id.starts_with(value)),
        "pod" => {
            is(EventType::Pod)
                && (e.name == value || (!value.is_empty() && e.id.starts_with(value)))
        }
        "type" => e.kind.as_str() == value,
        "volume" => is(EventType::Volume) && e.name == value,
        _ => false,
    }
}

/// `busybox` matches `docker.io/library/busybox:latest` and `localhost/busybox:latest`.
fn same_short_name(full: &str, short: &str) -> bool {
    let without_tag = full
        .rsplit_once(':')
        .map_or(full, |(n, t)| if t.contains('/') { full } else { n });
    let base = without_tag.rsplit('/').next().unwrap_or(without_tag);
    short == base || short == format!("{base}:latest") && full.ends_with(":latest")
}

/// Docker's event names, as Podman's compat API maps them.
pub struct Docker;

impl Docker {
    /// Docker's action for a berth status of an object of `kind`.
    pub fn action(kind: EventType, status: &str) -> String {
        match (kind, status) {
            (EventType::Container, "died") => "die".into(),
            (EventType::Container, "remove") => "destroy".into(),
            (EventType::Container, "exec") => "exec_start".into(),
            (EventType::Container, "exec_died") => "exec_die".into(),
            (EventType::Image, "remove") => "delete".into(),
            (EventType::Volume, "remove") => "destroy".into(),
            (EventType::Network, "remove") => "destroy".into(),
            _ => status.into(),
        }
    }

    /// A Docker `event` filter value as berth's status.
    fn to_podman_status(key: &str, value: &str) -> String {
        if key != "event" && key != "status" {
            return value.to_string();
        }
        match value {
            "die" => "died".into(),
            "destroy" | "delete" => "remove".into(),
            "exec_start" => "exec".into(),
            "exec_die" => "exec_died".into(),
            v => v.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        let c = Event::container("start", "abcdef", "web", "localhost/bb:latest");
        let i = Event::image("tag", "1234", "localhost/bb:latest");
        let mut f = Filters::new();
        f.add("type=container").unwrap();
        assert!(f.matches(&c) && !f.matches(&i));
        f.add("container=abc").unwrap();
        assert!(f.matches(&c));
        f.add("event=stop").unwrap();
        assert!(!f.matches(&c));
        f.add("event=start").unwrap();
        assert!(f.matches(&c));
        let mut f = Filters::new();
        f.add("image=bb").unwrap();
        assert!(f.matches(&c));
        assert!(!f.matches(&i));
        f.add("image=localhost/bb:latest").unwrap();
        assert!(f.matches(&i));
        assert!(Filters::new().add("nope=1").is_err());
        assert!(Filters::new().add("type").is_err());
        let labelled = Event::container("start", "a", "b", "c")
            .with_attributes(&BTreeMap::from([("app".to_string(), "x".to_string())]));
        let mut f = Filters::new();
        f.add("label=app=x").unwrap();
        assert!(f.matches(&labelled) && !f.matches(&c));
    }

    #[test]
    fn dockers_filters() {
        let f = Filters::from_docker_json(r#"{"type":["container"],"event":["die"]}"#).unwrap();
        let died = Event::container("died", "a", "b", "c");
        assert!(f.matches(&died));
        let f = Filters::from_docker_json(r#"{"type":{"image":true}}"#).unwrap();
        assert!(!f.matches(&died));
        assert_eq!(Docker::action(EventType::Container, "died"), "die");
    }
}
