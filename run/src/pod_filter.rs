//! Which pods a list shows: Podman 4.3's pod filters (`pod ps --filter`,
//! `pkg/domain/filters/pods.go`), one parser and one matcher over a pod's list record
//! ([`PodSummary`]) for every front end.
//!
//! Kinds: `id` and `name` (regular expressions, unanchored, as Podman), `label` (`KEY` or
//! `KEY=VALUE`; all must hold), `status` (the pod's: `created`, `running`, `degraded`,
//! `paused`, `exited`, `stopped`, `dead`), `network` (a network of its infra container),
//! `until` (created before a time), and over its containers (the infra container included, as
//! Podman counts them): `ctr-names`, `ctr-ids` (regular expressions), `ctr-status`
//! (`created`, `running`, `paused`, `stopped`, `exited`, `unknown`) and `ctr-number`.
//! Values of one kind are alternatives (except `label`); different kinds must all hold.
//! Podman 4.3 looks only at the first container it finds for `ctr-names` and `ctr-ids` (a
//! bug of its loop); berth looks at every one.
//!
//! The texts are split by the one `--filter` splitter (`berth_image_store::list_filter`);
//! labels, times and errors as the container filters (`crate::list_filter`) have them.

use berth_image_store::events::time::parse_input_time;
use berth_image_store::list_filter::split_filters;
use berth_image_store::prune_filter::LabelFilter;
use chrono::{DateTime, Utc};
use regex::Regex;

use crate::error::{Result, RunError};
use crate::pod_summary::PodSummary;

/// The pod states a `status` filter may name (Podman's list).
const POD_STATUSES: &[&str] = &[
    "stopped", "running", "paused", "exited", "dead", "created", "degraded",
];

/// The container states a `ctr-status` filter may name (Podman's list).
const CTR_STATUSES: &[&str] = &[
    "created", "running", "paused", "stopped", "exited", "unknown",
];

/// A parsed set of pod filters. Empty matches every pod.
#[derive(Debug, Default)]
pub struct PodFilters {
    ids: Vec<Regex>,
    names: Vec<Regex>,
    labels: Vec<LabelFilter>,
    statuses: Vec<String>,
    networks: Vec<String>,
    until: Vec<DateTime<Utc>>,
    ctr_names: Vec<Regex>,
    ctr_ids: Vec<Regex>,
    ctr_statuses: Vec<String>,
    ctr_numbers: Vec<usize>,
}

fn regex(kind: &str, value: &str) -> Result<Regex> {
    Regex::new(value).map_err(|e| invalid(format!("{kind} filter {value:?}: {e}")))
}

fn invalid(msg: String) -> RunError {
    RunError::Invalid(msg)
}

impl PodFilters {
    /// `pairs` of kind and value; an unknown kind or a bad value is Podman's error.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<PodFilters> {
        let mut f = PodFilters::default();
        for (kind, value) in pairs {
            match kind {
                "id" => f.ids.push(regex(kind, value)?),
                "name" => f.names.push(regex(kind, value)?),
                "label" => f.labels.push(LabelFilter::parse(value, false)),
                "status" => {
                    if !POD_STATUSES.contains(&value) {
                        return Err(invalid(format!("{value} is not a valid pod status")));
                    }
                    f.statuses.push(value.to_string());
                }
                "network" => f.networks.push(value.to_string()),
                "until" => f.until.push(
                    parse_input_time(value, Utc::now())
                        .map_err(|e| invalid(format!("until filter: {e}")))?,
                ),
                "ctr-names" => f.ctr_names.push(regex(kind, value)?),
                "ctr-ids" => f.ctr_ids.push(regex(kind, value)?),
                "ctr-status" => {
                    if !CTR_STATUSES.contains(&value) {
                        return Err(invalid(format!("{value} is not a valid status")));
                    }
                    f.ctr_statuses.push(value.to_string());
                }
                "ctr-number" => {
                    f.ctr_numbers.push(value.parse().map_err(|_| {
                        invalid(format!("ctr-number filter {value:?}: not a number"))
                    })?)
                }
                other => return Err(invalid(format!("{other} is an invalid filter"))),
            }
        }
        Ok(f)
    }

    /// `KIND=VALUE` texts as `--filter` takes them.
    pub fn parse_texts(texts: &[String]) -> Result<PodFilters> {
        let pairs = split_filters(texts).map_err(|e| invalid(e.to_string()))?;
        PodFilters::parse(pairs)
    }

    /// Whether the pod listed as `s` passes.
    pub fn matches(&self, s: &PodSummary) -> bool {
        fn any<T>(values: &[T], f: impl Fn(&T) -> bool) -> bool {
            values.is_empty() || values.iter().any(f)
        }
        let ctr_state = |status: &str| match status {
            "stopped" => "exited".to_string(),
            other => other.to_string(),
        };
        any(&self.ids, |r| r.is_match(&s.id))
            && any(&self.names, |r| r.is_match(&s.name))
            && self
                .labels
                .iter()
                .all(|l| l.holds(s.labels.get(&l.key).map(String::as_str)))
            && any(&self.statuses, |st| s.status.eq_ignore_ascii_case(st))
            && any(&self.networks, |n| s.networks.contains(n))
            && any(&self.until, |t| s.created < *t)
            && any(&self.ctr_names, |r| {
                s.containers.iter().any(|c| r.is_match(&c.names))
            })
            && any(&self.ctr_ids, |r| {
                s.containers.iter().any(|c| r.is_match(&c.id))
            })
            && any(&self.ctr_statuses, |st| {
                s.containers
                    .iter()
                    .any(|c| ctr_state(&c.status) == ctr_state(st))
            })
            && any(&self.ctr_numbers, |n| s.containers.len() == *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod_summary::PodMember;

    fn summary(name: &str, status: &str, members: &[(&str, &str, &str)]) -> PodSummary {
        PodSummary {
            cgroup: String::new(),
            containers: members
                .iter()
                .map(|(id, names, status)| PodMember {
                    id: id.to_string(),
                    names: names.to_string(),
                    status: status.to_string(),
                })
                .collect(),
            created: Utc::now() - chrono::Duration::hours(1),
            id: format!("{name}0123456789"),
            infra_id: String::new(),
            name: name.to_string(),
            namespace: String::new(),
            networks: vec!["berth".to_string()],
            status: status.to_string(),
            labels: [("team".to_string(), "a".to_string())].into(),
        }
    }

    fn passes(filters: &[&str], s: &PodSummary) -> bool {
        let texts: Vec<String> = filters.iter().map(|t| t.to_string()).collect();
        PodFilters::parse_texts(&texts).unwrap().matches(s)
    }

    #[test]
    fn each_kind_as_podman() {
        let web = summary(
            "web",
            "Degraded",
            &[
                ("aaa111", "web-infra", "running"),
                ("bbb222", "httpd", "exited"),
            ],
        );
        assert!(passes(&[], &web));
        assert!(passes(&["name=^w.b$"], &web));
        assert!(!passes(&["name=^eb"], &web));
        assert!(passes(&["id=web01"], &web));
        assert!(passes(&["label=team"], &web) && passes(&["label=team=a"], &web));
        assert!(!passes(&["label=team=b"], &web));
        assert!(passes(&["status=degraded"], &web));
        assert!(passes(&["status=running", "status=degraded"], &web));
        assert!(!passes(&["status=running"], &web));
        assert!(passes(&["network=berth"], &web) && !passes(&["network=other"], &web));
        assert!(passes(&["until=1s"], &web) && !passes(&["until=2000-01-01T00:00:00Z"], &web));
        assert!(passes(&["ctr-names=httpd"], &web) && !passes(&["ctr-names=nginx"], &web));
        assert!(passes(&["ctr-ids=^bbb"], &web) && !passes(&["ctr-ids=^ccc"], &web));
        assert!(passes(&["ctr-status=stopped"], &web) && passes(&["ctr-status=running"], &web));
        assert!(!passes(&["ctr-status=paused"], &web));
        assert!(passes(&["ctr-number=2"], &web) && !passes(&["ctr-number=1"], &web));
        // Different kinds must all hold.
        assert!(!passes(&["name=web", "ctr-number=3"], &web));
    }

    #[test]
    fn bad_filters_in_podmans_words() {
        let err = |t: &str| {
            PodFilters::parse_texts(&[t.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert!(err("bogus=1").contains("bogus is an invalid filter"));
        assert!(err("status=bogus").contains("bogus is not a valid pod status"));
        assert!(err("ctr-status=bogus").contains("bogus is not a valid status"));
        assert!(err("ctr-number=x").contains("ctr-number"));
        assert!(err("name").contains("KEY=VALUE"));
    }
}
