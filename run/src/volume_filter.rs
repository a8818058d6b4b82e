//! Which volumes a list shows: Podman 4.3's volume filters (`volume ls --filter`) and
//! Docker's (`GET /volumes?filters=`), one parser and one matcher for both front ends.
//!
//! Kinds: `name` (a regular expression, unanchored), `label` and `label!`, `driver`
//! (`local`, berth's only one), `scope` (`local`), `until` (a time), `dangling` (no
//! container uses it). Values of one kind are alternatives, except `label`, which must all
//! hold; different kinds must all hold.

use berth_image_store::events::time::parse_input_time;
use berth_image_store::list_filter::{boolean, split_filters};
use berth_image_store::prune_filter::LabelFilter;
use chrono::{DateTime, Utc};
use regex::Regex;

use crate::engine::Engine;
use crate::error::{Result, RunError};
use crate::volumes::Volume;

/// A parsed set of volume filters. Empty matches every volume.
#[derive(Debug, Default)]
pub struct VolumeFilters {
    names: Vec<Regex>,
    labels: Vec<LabelFilter>,
    /// `driver` and `scope` values: `local` is the only one berth has.
    local: Vec<String>,
    until: Vec<DateTime<Utc>>,
    dangling: Vec<bool>,
}

impl VolumeFilters {
    /// `pairs` of kind and value. An unknown kind or a bad value is an error naming it.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<VolumeFilters> {
        let mut f = VolumeFilters::default();
        for (kind, value) in pairs {
            match kind {
                "name" => f.names.push(
                    Regex::new(value)
                        .map_err(|e| invalid(format!("name filter {value:?}: {e}")))?,
                ),
                "label" => f.labels.push(LabelFilter::parse(value, false)),
                "label!" => f.labels.push(LabelFilter::parse(value, true)),
                "driver" | "scope" => f.local.push(value.to_string()),
                "until" => f.until.push(
                    parse_input_time(value, Utc::now())
                        .map_err(|e| invalid(format!("until filter: {e}")))?,
                ),
                "dangling" => f
                    .dangling
                    .push(boolean(kind, value).map_err(|e| invalid(e.to_string()))?),
                other => return Err(invalid(format!("{other} is an invalid volume filter"))),
            }
        }
        Ok(f)
    }

    /// `KIND=VALUE` texts as `--filter` takes them.
    pub fn parse_texts(texts: &[String]) -> Result<VolumeFilters> {
        let pairs = split_filters(texts).map_err(|e| invalid(e.to_string()))?;
        VolumeFilters::parse(pairs)
    }

    /// The volumes of `list` these filters keep, in their order; `dangling` asks `engine`
    /// who uses each volume.
    pub fn apply(&self, engine: &Engine<'_>, list: Vec<Volume>) -> Result<Vec<Volume>> {
        let mut out = Vec::new();
        for v in list {
            if !self.matches_record(&v) {
                continue;
            }
            if !self.dangling.is_empty() {
                let unused = engine.volume_users(&v.name)?.is_empty();
                if !self.dangling.contains(&unused) {
                    continue;
                }
            }
            out.push(v);
        }
        Ok(out)
    }

    fn matches_record(&self, v: &Volume) -> bool {
        fn any<T>(values: &[T], f: impl Fn(&T) -> bool) -> bool {
            values.is_empty() || values.iter().any(f)
        }
        any(&self.names, |r| r.is_match(&v.name))
            && self
                .labels
                .iter()
                .all(|l| l.holds(v.labels.get(&l.key).map(String::as_str)))
            && any(&self.local, |d| d == "local")
            && any(&self.until, |t| v.created < *t)
    }
}

fn invalid(msg: String) -> RunError {
    RunError::Invalid(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(name: &str, labels: &[(&str, &str)]) -> Volume {
        Volume {
            name: name.into(),
            mountpoint: format!("/v/{name}/_data").into(),
            created: Utc::now(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn filters_pick_volumes() {
        let all = [volume("data", &[("app", "web")]), volume("cache", &[])];
        let keep = |texts: &[&str]| -> Vec<String> {
            let texts: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
            let f = VolumeFilters::parse_texts(&texts).unwrap();
            all.iter()
                .filter(|v| f.matches_record(v))
                .map(|v| v.name.clone())
                .collect()
        };
        assert_eq!(keep(&[]), ["data", "cache"]);
        assert_eq!(keep(&["name=^da"]), ["data"]);
        assert_eq!(keep(&["name=a"]), ["data", "cache"]);
        assert_eq!(keep(&["label=app=web"]), ["data"]);
        assert_eq!(keep(&["label!=app"]), ["cache"]);
        assert_eq!(keep(&["driver=local"]), ["data", "cache"]);
        assert_eq!(keep(&["driver=nfs"]), Vec::<String>::new());
        assert_eq!(keep(&["name=data", "label=app=db"]), Vec::<String>::new());
        assert!(VolumeFilters::parse_texts(&["colour=red".into()]).is_err());
        assert!(VolumeFilters::parse_texts(&["dangling=maybe".into()]).is_err());
    }
}
