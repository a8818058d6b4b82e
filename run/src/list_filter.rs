//! Which containers a list shows: Podman 4.3's container filters (`ps --filter`, the libpod
//! API) and Docker's (`GET /containers/json?filters=`), one parser and one matcher for both
//! front ends.
//!
//! Kinds: `id` (a prefix), `name` (a regular expression, unanchored, as Podman), `label` and
//! `label!`, `exited` (an exit code; exited containers only), `status` (`created`,
//! `running`, `paused`, `exited`, `stopped`, `unknown`…), `ancestor` (the image: a name,
//! `repo:tag`, or an id prefix), `before` and `since` (another container), `until` (a
//! time), `volume` (a volume name or a destination), `network` (a network name),
//! `restart-policy` (`no`, `on-failure`, `always`, `unless-stopped`).
//! Values of one kind are alternatives, except `label`, which must all hold; different kinds
//! must all hold (Podman's rule, its `--filter` documentation).

use berth_image_store::events::time::parse_input_time;
use berth_image_store::list_filter::split_filters;
use berth_image_store::names::name_matches;
use berth_image_store::prune_filter::LabelFilter;
use chrono::{DateTime, Utc};
use regex::Regex;

use crate::container::{Container, State};
use crate::error::{Result, RunError};
use crate::summary::state_name;

/// The states a `status` filter may name (Podman's, and Docker's `restarting`, `removing`,
/// `dead`, which no berth container is in).
const STATUSES: &[&str] = &[
    "created",
    "running",
    "paused",
    "exited",
    "stopped",
    "unknown",
    "configured",
    "stopping",
    "restarting",
    "removing",
    "dead",
];

/// A parsed set of container filters. Empty matches every container.
#[derive(Debug, Default)]
pub struct ContainerFilters {
    ids: Vec<String>,
    names: Vec<Regex>,
    labels: Vec<LabelFilter>,
    exited: Vec<i32>,
    statuses: Vec<String>,
    ancestors: Vec<String>,
    before: Vec<DateTime<Utc>>,
    since: Vec<DateTime<Utc>>,
    until: Vec<DateTime<Utc>>,
    volumes: Vec<String>,
    networks: Vec<String>,
    restart_policies: Vec<String>,
}

impl ContainerFilters {
    /// `pairs` of kind and value; `before` and `since` name a container of `all` (the
    /// store's containers). An unknown kind, a bad value or an unknown container is an error
    /// naming it.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        all: &[Container],
    ) -> Result<ContainerFilters> {
        let mut f = ContainerFilters::default();
        for (kind, value) in pairs {
            match kind {
                "id" => f.ids.push(value.to_string()),
                "name" => f.names.push(
                    Regex::new(value.trim_start_matches('/'))
                        .map_err(|e| invalid(format!("name filter {value:?}: {e}")))?,
                ),
                "label" => f.labels.push(LabelFilter::parse(value, false)),
                "label!" => f.labels.push(LabelFilter::parse(value, true)),
                "exited" => {
                    f.exited.push(value.parse().map_err(|_| {
                        invalid(format!("exited filter {value:?}: not an exit code"))
                    })?)
                }
                "status" => {
                    if !STATUSES.contains(&value) {
                        return Err(invalid(format!("{value} is not a valid status")));
                    }
                    f.statuses.push(value.to_string())
                }
                "ancestor" => f.ancestors.push(value.to_string()),
                "before" => f.before.push(created_of(all, kind, value)?),
                "since" => f.since.push(created_of(all, kind, value)?),
                "until" => f.until.push(
                    parse_input_time(value, Utc::now())
                        .map_err(|e| invalid(format!("until filter: {e}")))?,
                ),
                "volume" => f.volumes.push(value.to_string()),
                "network" => f.networks.push(value.to_string()),
                "restart-policy" => f.restart_policies.push(value.to_string()),
                other => return Err(invalid(format!("{other} is an invalid filter"))),
            }
        }
        Ok(f)
    }

    /// `KIND=VALUE` texts as `--filter` takes them.
    pub fn parse_texts(texts: &[String], all: &[Container]) -> Result<ContainerFilters> {
        let pairs = split_filters(texts).map_err(|e| invalid(e.to_string()))?;
        ContainerFilters::parse(pairs, all)
    }

    /// Whether a `status` filter was given: it picks among every container, so a list that
    /// shows only running ones by default shows all (as Podman's and Docker's `ps` do).
    pub fn names_status(&self) -> bool {
        !self.statuses.is_empty()
    }

    /// Whether `c` passes.
    pub fn matches(&self, c: &Container) -> bool {
        fn any<T>(values: &[T], f: impl Fn(&T) -> bool) -> bool {
            values.is_empty() || values.iter().any(f)
        }
        any(&self.ids, |p| c.id.starts_with(p.as_str()))
            && any(&self.names, |r| r.is_match(&c.name))
            && self.labels.iter().all(|l| {
                l.holds(
                    c.labels
                        .iter()
                        .find(|(k, _)| *k == l.key)
                        .map(|(_, v)| v.as_str()),
                )
            })
            && any(&self.exited, |code| {
                c.state == State::Exited && c.exit_code == Some(*code)
            })
            && any(&self.statuses, |s| status_is(c, s))
            && any(&self.ancestors, |a| ancestor_is(c, a))
            && any(&self.before, |t| c.created < *t)
            && any(&self.since, |t| c.created > *t)
            && any(&self.until, |t| c.created < *t)
            && any(&self.volumes, |v| uses_volume(c, v))
            && any(&self.restart_policies, |p| {
                c.options.restart.to_string().split(':').next() == Some(p.as_str())
            })
            && any(&self.networks, |n| {
                c.options
                    .network
                    .requests()
                    .is_some_and(|r| r.iter().any(|r| r.network == *n))
            })
    }
}

fn status_is(c: &Container, status: &str) -> bool {
    let state = state_name(c);
    state == status || (status == "stopped" && state == "exited")
}

fn ancestor_is(c: &Container, want: &str) -> bool {
    let hex = c.image_id_hex();
    c.image_name == want
        || name_matches(&c.image_name, want)
        || (!hex.is_empty() && hex.starts_with(want.trim_start_matches("sha256:")))
}

fn uses_volume(c: &Container, want: &str) -> bool {
    c.options.named_volumes.iter().any(|n| n == want)
        || c.options.volumes.iter().any(|v| v.destination == want)
}

fn created_of(all: &[Container], kind: &str, name: &str) -> Result<DateTime<Utc>> {
    all.iter()
        .find(|c| c.name == name || c.id == name)
        .or_else(|| {
            let mut prefixed = all.iter().filter(|c| c.id.starts_with(name));
            match (prefixed.next(), prefixed.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        })
        .map(|c| c.created)
        .ok_or_else(|| invalid(format!("{kind} filter: no container named {name:?}")))
}

fn invalid(msg: String) -> RunError {
    RunError::Invalid(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::container;

    fn names(f: &[&str], all: &[Container]) -> Vec<String> {
        let texts: Vec<String> = f.iter().map(|t| t.to_string()).collect();
        let filters = ContainerFilters::parse_texts(&texts, all).unwrap();
        all.iter()
            .filter(|c| filters.matches(c))
            .map(|c| c.name.clone())
            .collect()
    }

    #[test]
    fn filters_pick_containers() {
        let mut web = container(State::Exited);
        web.name = "web".into();
        web.exit_code = Some(3);
        web.labels = vec![("tier".into(), "front".into())];
        web.options.named_volumes = vec!["named".into()];
        let mut db = container(State::Created);
        db.name = "db".into();
        db.id = "fedcba".repeat(10) + "0123";
        db.created = web.created + chrono::Duration::seconds(5);
        let all = vec![web, db];
        assert_eq!(names(&[], &all), ["web", "db"]);
        assert_eq!(names(&["name=^w"], &all), ["web"]);
        assert_eq!(names(&["name=e"], &all), ["web"]);
        assert_eq!(names(&["status=exited"], &all), ["web"]);
        assert_eq!(
            names(&["status=exited", "status=created"], &all),
            ["web", "db"]
        );
        assert_eq!(names(&["exited=3"], &all), ["web"]);
        assert_eq!(names(&["exited=0"], &all), Vec::<String>::new());
        assert_eq!(names(&["label=tier=front"], &all), ["web"]);
        assert_eq!(names(&["label!=tier"], &all), ["db"]);
        assert_eq!(names(&["id=fedcba"], &all), ["db"]);
        assert_eq!(names(&["since=web"], &all), ["db"]);
        assert_eq!(names(&["before=db"], &all), ["web"]);
        assert_eq!(names(&["ancestor=bb"], &all), ["web", "db"]);
        assert_eq!(names(&["ancestor=localhost/bb:1"], &all), ["web", "db"]);
        assert_eq!(names(&["ancestor=bb:2"], &all), Vec::<String>::new());
        assert_eq!(names(&["ancestor=ababab"], &all), ["web", "db"]);
        assert_eq!(names(&["volume=named"], &all), ["web"]);
        assert_eq!(names(&["volume=/data"], &all), ["web", "db"]);
        assert_eq!(names(&["volume=other"], &all), Vec::<String>::new());
        assert_eq!(names(&["restart-policy=no"], &all), ["web", "db"]);
        assert_eq!(
            names(&["restart-policy=always"], &all),
            Vec::<String>::new()
        );
        // Two kinds: both must hold.
        assert_eq!(
            names(&["status=exited", "id=fedcba"], &all),
            Vec::<String>::new()
        );
    }

    #[test]
    fn bad_filters_are_refused() {
        let all = vec![container(State::Created)];
        let err = |t: &str| {
            ContainerFilters::parse_texts(&[t.to_string()], &all)
                .unwrap_err()
                .to_string()
        };
        assert!(err("status=sleeping").contains("sleeping is not a valid status"));
        assert!(err("colour=red").contains("colour is an invalid filter"));
        assert!(err("exited=x").contains("not an exit code"));
        assert!(err("name=(").contains("name filter"));
        assert!(err("before=nobody").contains("no container named"));
        assert!(err("status").contains("KEY=VALUE"));
    }
}
