//! Which secrets `secret ls --filter` shows, as Podman 4.3's (`IfPassesSecretsFilter`):
//! `name` and `id`, each a regular expression matched anywhere in the secret's name or id.
//! Values of one kind are alternatives; different kinds must all hold. The texts are split
//! by the one `--filter` splitter ([`berth_image_store::list_filter::split_filters`]).

use berth_image_store::list_filter::split_filters;
use regex::Regex;

use super::store::Secret;
use crate::error::{Result, RunError};

/// A parsed set of secret filters. Empty matches every secret.
#[derive(Debug, Default)]
pub struct SecretFilters {
    names: Vec<Regex>,
    ids: Vec<Regex>,
}

impl SecretFilters {
    /// `KIND=VALUE` texts as `--filter` takes them; an unknown kind is Podman's
    /// `invalid filter "KIND"`, a bad expression names itself.
    pub fn parse_texts(texts: &[String]) -> Result<SecretFilters> {
        let pairs = split_filters(texts).map_err(|e| RunError::Invalid(e.to_string()))?;
        let mut f = SecretFilters::default();
        for (kind, value) in pairs {
            let list = match kind.to_ascii_lowercase().as_str() {
                "name" => &mut f.names,
                "id" => &mut f.ids,
                _ => return Err(RunError::Invalid(format!("invalid filter {kind:?}"))),
            };
            list.push(Regex::new(value).map_err(|e| {
                RunError::Invalid(format!("{kind} filter {value:?}: {}", one_line(&e)))
            })?);
        }
        Ok(f)
    }

    /// Whether `secret` passes every kind given.
    pub fn matches(&self, secret: &Secret) -> bool {
        let any =
            |list: &[Regex], text: &str| list.is_empty() || list.iter().any(|r| r.is_match(text));
        any(&self.names, &secret.name) && any(&self.ids, &secret.id)
    }
}

fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, id: &str) -> Secret {
        Secret {
            id: id.to_string(),
            name: name.to_string(),
            driver: "file".to_string(),
            created: chrono::Utc::now(),
            updated: chrono::Utc::now(),
            labels: Default::default(),
        }
    }

    #[test]
    fn name_and_id_are_expressions_and_kinds_must_all_hold() {
        let a = secret("db-pass", "aaaa1111");
        let b = secret("api-key", "bbbb2222");
        let f = |t: &[&str]| {
            SecretFilters::parse_texts(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap()
        };
        assert!(f(&[]).matches(&a));
        assert!(f(&["name=pass"]).matches(&a) && !f(&["name=pass"]).matches(&b));
        assert!(f(&["name=^api", "name=^db"]).matches(&b));
        assert!(f(&["id=^bbbb"]).matches(&b) && !f(&["id=^bbbb"]).matches(&a));
        assert!(!f(&["name=db", "id=^bbbb"]).matches(&a));
        let err = |t: &str| {
            SecretFilters::parse_texts(&[t.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert!(err("driver=file").contains("invalid filter \"driver\""));
        assert!(err("name").contains("invalid filter"));
        assert!(err("name=(").contains("name filter \"(\""));
    }
}
