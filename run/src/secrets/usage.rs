//! `--secret NAME[,type=mount|env][,target=…][,uid=…][,gid=…][,mode=…]`, as Podman 4.3
//! parses it: a mount secret appears at `/run/secrets/NAME` (a relative target lands under
//! `/run/secrets`, an absolute one where it says), owned by uid/gid (default 0) with mode
//! (default 0444); an env secret sets the variable TARGET (default NAME). The container keeps
//! the secret's id, resolved when it is created.

use crate::error::{Result, RunError};

/// Where a secret goes in the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SecretKind {
    Mount,
    Env,
}

/// Where secrets of kind mount go by default.
pub const SECRETS_DIR: &str = "/run/secrets";

/// One `--secret`, resolved to its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretUse {
    /// The name given (a name, or an id).
    pub name: String,
    /// The secret's id (set when the container is created).
    #[serde(default)]
    pub id: String,
    pub kind: SecretKind,
    /// Mount: the file's path in the container; env: the variable's name.
    pub target: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

fn invalid(why: String) -> RunError {
    RunError::Invalid(format!("{why}: parsing secret"))
}

impl SecretUse {
    /// Parse one `--secret` value (the id is filled in at create).
    pub fn parse(s: &str) -> Result<SecretUse> {
        let mut parts = s.split(',');
        let name = parts.next().unwrap_or_default();
        if name.is_empty() || name.contains('=') {
            return Err(invalid(format!("no secret name given in {s:?}")));
        }
        let (mut kind, mut target) = (None, None);
        let (mut uid, mut gid, mut mode) = (None, None, None);
        for opt in parts {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| invalid(format!("option {opt} must be in form option=value")))?;
            let number = |v: &str, radix: u32| {
                u32::from_str_radix(v, radix).map_err(|_| invalid(format!("option {opt} invalid")))
            };
            match k {
                "type" => {
                    kind = Some(match v {
                        "mount" => SecretKind::Mount,
                        "env" => SecretKind::Env,
                        _ => return Err(invalid(format!("type {v} is invalid"))),
                    })
                }
                "target" if !v.is_empty() => target = Some(v.to_string()),
                "uid" => uid = Some(number(v, 10)?),
                "gid" => gid = Some(number(v, 10)?),
                "mode" => mode = Some(number(v, 8)?),
                _ => return Err(invalid(format!("option {opt} invalid"))),
            }
        }
        let kind = kind.unwrap_or(SecretKind::Mount);
        if kind == SecretKind::Env && (uid.is_some() || gid.is_some() || mode.is_some()) {
            return Err(invalid(
                "UID, GID, Mode options cannot be set with secret type env".to_string(),
            ));
        }
        let target = match (kind, target) {
            (SecretKind::Env, t) => t.unwrap_or_else(|| name.to_string()),
            (SecretKind::Mount, Some(t)) if t.starts_with('/') => t,
            (SecretKind::Mount, t) => {
                let file = t.unwrap_or_else(|| name.to_string());
                if file.split('/').any(|c| c == "..") {
                    return Err(invalid(format!("target {file} is invalid")));
                }
                format!("{SECRETS_DIR}/{file}")
            }
        };
        if kind == SecretKind::Env && (target.contains('=') || target.contains('\0')) {
            return Err(invalid(format!("target {target} is invalid")));
        }
        Ok(SecretUse {
            name: name.to_string(),
            id: String::new(),
            kind,
            target,
            uid: uid.unwrap_or(0),
            gid: gid.unwrap_or(0),
            mode: mode.unwrap_or(0o444),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_secret_syntax() {
        let m = SecretUse::parse("db").unwrap();
        assert_eq!(
            (m.kind, m.target.as_str(), m.uid, m.gid, m.mode),
            (SecretKind::Mount, "/run/secrets/db", 0, 0, 0o444)
        );
        let m = SecretUse::parse("db,type=mount,target=/etc/x,uid=5,gid=6,mode=0400").unwrap();
        assert_eq!(
            (m.target.as_str(), m.uid, m.gid, m.mode),
            ("/etc/x", 5, 6, 0o400)
        );
        assert_eq!(
            SecretUse::parse("db,target=rel").unwrap().target,
            "/run/secrets/rel"
        );
        let e = SecretUse::parse("db,type=env,target=MYV").unwrap();
        assert_eq!((e.kind, e.target.as_str()), (SecretKind::Env, "MYV"));
        assert_eq!(SecretUse::parse("db,type=env").unwrap().target, "db");
        let err = |s: &str| SecretUse::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("db,type=bogus"),
            "type bogus is invalid: parsing secret"
        );
        assert_eq!(
            err("db,type=env,uid=3"),
            "UID, GID, Mode options cannot be set with secret type env: parsing secret"
        );
        assert_eq!(err("db,foo=bar"), "option foo=bar invalid: parsing secret");
        assert!(err("db,target=../x").contains("invalid"));
        assert!(err("db,mode=9").contains("invalid"));
    }
}
