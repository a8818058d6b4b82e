//! `--restart no|on-failure[:N]|always|unless-stopped`: the policy (parsed with Podman 4.3's
//! words), and the one decision a monitor makes when its container exits: start it again or
//! not (libpod's `shouldRestart`). The monitor's restart loop is `engine/restart.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, RunError};

/// A container's restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// `no` (and no `--restart` at all).
    #[default]
    No,
    /// `on-failure[:N]`: after a non-zero exit; `max_retries` 0 is no limit.
    OnFailure { max_retries: u32 },
    /// `always`.
    Always,
    /// `unless-stopped`: as `always` (Podman 4.3's words: "Identical to always").
    UnlessStopped,
}

impl RestartPolicy {
    /// The name inspect shows (`HostConfig.RestartPolicy.Name`): empty for none, as Podman.
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// `MaximumRetryCount`.
    pub fn max_retries(self) -> u32 {
        match self {
            RestartPolicy::OnFailure { max_retries } => max_retries,
            _ => 0,
        }
    }

    /// Whether a container that exited with `code` (`None`: unknown), after `restarts`
    /// restarts since its user's start, is started again. A container its user stopped or
    /// killed is never restarted (`stopped_by_user`), whatever the policy.
    pub fn should_restart(self, code: Option<i32>, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max_retries } => {
                code != Some(0) && (max_retries == 0 || restarts < max_retries)
            }
        }
    }
}

impl fmt::Display for RestartPolicy {
    /// The `--restart` value that makes this policy (`no` for none).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure { max_retries: 0 } => f.write_str("on-failure"),
            RestartPolicy::OnFailure { max_retries } => write!(f, "on-failure:{max_retries}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = RunError;

    /// Podman 4.3's parse and its error words.
    fn from_str(s: &str) -> Result<RestartPolicy> {
        let mut parts = s.split(':');
        let name = parts.next().unwrap_or_default();
        let retries = parts.next();
        if parts.next().is_some() {
            return Err(RunError::Invalid(
                "invalid restart policy: may specify retries at most once".to_string(),
            ));
        }
        let max_retries = match retries {
            None => 0,
            Some(_) if !name.eq_ignore_ascii_case("on-failure") => {
                return Err(RunError::Invalid(
                    "restart policy retries can only be specified with on-failure restart policy"
                        .to_string(),
                ))
            }
            Some(n) => {
                let n: i64 = n.parse().map_err(|_| {
                    RunError::Invalid(format!(
                        "parsing restart policy retry count: strconv.Atoi: parsing {n:?}: invalid syntax"
                    ))
                })?;
                u32::try_from(n).map_err(|_| {
                    RunError::Invalid(
                        "must specify restart policy retry count as a number greater than 0"
                            .to_string(),
                    )
                })?
            }
        };
        match name {
            "" | "no" => Ok(RestartPolicy::No),
            "on-failure" => Ok(RestartPolicy::OnFailure { max_retries }),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            other => Err(RunError::Invalid(format!(
                "{other:?} is not a valid restart policy: invalid argument"
            ))),
        }
    }
}

/// `--rm` with a restart policy, refused with Podman's words.
pub fn check_auto_remove(policy: RestartPolicy, auto_remove: bool) -> Result<()> {
    if auto_remove && policy != RestartPolicy::No {
        return Err(RunError::Invalid(
            "the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\""
                .to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_podmans_policies_and_refuses_with_its_words() {
        assert_eq!("no".parse::<RestartPolicy>().unwrap(), RestartPolicy::No);
        assert_eq!(
            "on-failure:2".parse::<RestartPolicy>().unwrap(),
            RestartPolicy::OnFailure { max_retries: 2 }
        );
        assert_eq!(
            "on-failure".parse::<RestartPolicy>().unwrap(),
            RestartPolicy::OnFailure { max_retries: 0 }
        );
        assert_eq!(
            "unless-stopped".parse::<RestartPolicy>().unwrap(),
            RestartPolicy::UnlessStopped
        );
        let err = |s: &str| s.parse::<RestartPolicy>().unwrap_err().to_string();
        assert_eq!(
            err("bogus"),
            "\"bogus\" is not a valid restart policy: invalid argument"
        );
        assert_eq!(
            err("always:3"),
            "restart policy retries can only be specified with on-failure restart policy"
        );
        assert_eq!(
            err("on-failure:x"),
            "parsing restart policy retry count: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("on-failure:1:2"),
            "invalid restart policy: may specify retries at most once"
        );
        for p in [
            "no",
            "on-failure",
            "on-failure:5",
            "always",
            "unless-stopped",
        ] {
            assert_eq!(p.parse::<RestartPolicy>().unwrap().to_string(), p);
        }
    }

    #[test]
    fn the_decision_follows_libpods_should_restart() {
        let on_failure = RestartPolicy::OnFailure { max_retries: 2 };
        assert!(on_failure.should_restart(Some(3), 0, false));
        assert!(on_failure.should_restart(Some(3), 1, false));
        assert!(!on_failure.should_restart(Some(3), 2, false));
        assert!(!on_failure.should_restart(Some(0), 0, false));
        assert!(on_failure.should_restart(None, 0, false));
        let unlimited = RestartPolicy::OnFailure { max_retries: 0 };
        assert!(unlimited.should_restart(Some(1), 1000, false));
        assert!(RestartPolicy::Always.should_restart(Some(0), 50, false));
        assert!(RestartPolicy::UnlessStopped.should_restart(Some(0), 0, false));
        assert!(!RestartPolicy::Always.should_restart(Some(137), 0, true));
        assert!(!RestartPolicy::No.should_restart(Some(1), 0, false));
    }

    #[test]
    fn rm_with_a_policy_is_refused() {
        assert!(check_auto_remove(RestartPolicy::No, true).is_ok());
        assert!(check_auto_remove(RestartPolicy::Always, false).is_ok());
        let e = check_auto_remove(RestartPolicy::Always, true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\""
        );
    }
}
