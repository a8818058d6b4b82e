//! Strict parsing of requirements, key sources and `signedIdentity`.

use super::*;

/// The value at `at` is not valid: `message` says why.
fn bad(at: impl std::fmt::Display, message: impl Into<String>) -> TrustError {
    TrustError::PolicyValue {
        at: at.to_string(),
        message: message.into(),
    }
}

pub(super) fn requirements(v: &Value, at: &str) -> Result<Vec<Requirement>, TrustError> {
    let Value::Array(list) = v else {
        return Err(bad(at, "must be an array of requirements"));
    };
    if list.is_empty() {
        return Err(bad(
            at,
            "the list of requirements must not be empty (use [{\"type\":\"reject\"}])",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, r)| requirement(r, &format!("{at}[{i}]")))
        .collect()
}

/// The object at `at`, its `type`, and a check that it has only `allowed` keys besides.
fn typed_object<'a>(
    v: &'a Value,
    at: &str,
    allowed: impl Fn(&str) -> &'static [&'static str],
) -> Result<(&'a Map<String, Value>, &'a str), TrustError> {
    let Value::Object(map) = v else {
        return Err(bad(at, "must be an object"));
    };
    let kind = match map.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(bad(format!("{at}.type"), "must be a string")),
        None => return Err(bad(at, "missing key \"type\"")),
    };
    let keys = allowed(kind);
    if let Some(k) = map
        .keys()
        .find(|k| k.as_str() != "type" && !keys.contains(&k.as_str()))
    {
        return Err(bad(at, format!("unknown key {k:?} for type {kind:?}")));
    }
    Ok((map, kind))
}

const SIGNED_BY_KEYS: &[&str] = &[
    "keyType",
    "keyPath",
    "keyPaths",
    "keyData",
    "signedIdentity",
];
const SIGSTORE_KEYS: &[&str] = &[
    "keyPath",
    "keyPaths",
    "keyData",
    "keyDatas",
    "fulcio",
    "rekorPublicKeyPath",
    "rekorPublicKeyPaths",
    "rekorPublicKeyData",
    "rekorPublicKeyDatas",
    "pki",
    "signedIdentity",
];
const KEYLESS_KEYS: &[&str] = &[
    "fulcio",
    "pki",
    "rekorPublicKeyPath",
    "rekorPublicKeyPaths",
    "rekorPublicKeyData",
    "rekorPublicKeyDatas",
];

fn requirement(v: &Value, at: &str) -> Result<Requirement, TrustError> {
    let (map, kind) = typed_object(v, at, |kind| match kind {
        "signedBy" => SIGNED_BY_KEYS,
        "sigstoreSigned" => SIGSTORE_KEYS,
        _ => &[],
    })?;
    match kind {
        "insecureAcceptAnything" => Ok(Requirement::InsecureAcceptAnything),
        "reject" => Ok(Requirement::Reject),
        "signedBy" => {
            let key_type = match map.get("keyType") {
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(bad(format!("{at}.keyType"), "must be a string")),
                None => return Err(bad(at, "missing key \"keyType\"")),
            };
            if ![
                "GPGKeys",
                "signedByGPGKeys",
                "X509Certificates",
                "signedByX509CAs",
            ]
            .contains(&key_type.as_str())
            {
                return Err(bad(
                    format!("{at}.keyType"),
                    format!("unrecognized value {key_type:?}"),
                ));
            }
            Ok(Requirement::SignedBy {
                key_type,
                keys: key_source(map, at, false)?,
                identity: signed_identity(map, at)?,
            })
        }
        "sigstoreSigned" => {
            if let Some(k) = KEYLESS_KEYS.iter().find(|k| map.contains_key(**k)) {
                return Err(bad(at, format!(
                    "key {k:?}: berth does not support Fulcio/Rekor (keyless) verification; use keyPath, keyPaths, keyData or keyDatas"
                )));
            }
            Ok(Requirement::SigstoreSigned {
                keys: key_source(map, at, true)?,
                identity: signed_identity(map, at)?,
            })
        }
        other => Err(bad(at, format!("unknown requirement type {other:?}"))),
    }
}

fn key_source(
    map: &Map<String, Value>,
    at: &str,
    allow_datas: bool,
) -> Result<KeySource, TrustError> {
    let names: &[&str] = if allow_datas {
        &["keyPath", "keyPaths", "keyData", "keyDatas"]
    } else {
        &["keyPath", "keyPaths", "keyData"]
    };
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|k| map.contains_key(*k))
        .collect();
    let [name] = present.as_slice() else {
        return Err(bad(
            at,
            format!(
                "exactly one of {} must be specified, {}",
                names.join(", "),
                if present.is_empty() {
                    "none of them present".to_string()
                } else {
                    format!("found {}", present.join(" and "))
                }
            ),
        ));
    };
    let v = &map[*name];
    let string = |v: &Value, at: String| -> Result<String, TrustError> {
        match v {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            Value::String(_) => Err(bad(at, "must not be empty")),
            _ => Err(bad(at, "must be a string")),
        }
    };
    let list = |v: &Value| -> Result<Vec<String>, TrustError> {
        let Value::Array(items) = v else {
            return Err(bad(format!("{at}.{name}"), "must be an array of strings"));
        };
        if items.is_empty() {
            return Err(bad(format!("{at}.{name}"), "contains no entries"));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, v)| string(v, format!("{at}.{name}[{i}]")))
            .collect()
    };
    let decode = |s: &str, at: String| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| bad(at, format!("not valid base64: {e}")))
    };
    Ok(match *name {
        "keyPath" => KeySource::Paths(vec![PathBuf::from(string(v, format!("{at}.keyPath"))?)]),
        "keyPaths" => KeySource::Paths(list(v)?.into_iter().map(PathBuf::from).collect()),
        "keyData" => KeySource::Data(decode(
            &string(v, format!("{at}.keyData"))?,
            format!("{at}.keyData"),
        )?),
        _ => KeySource::Datas(
            list(v)?
                .iter()
                .enumerate()
                .map(|(i, s)| decode(s, format!("{at}.keyDatas[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn signed_identity(map: &Map<String, Value>, at: &str) -> Result<SignedIdentity, TrustError> {
    let Some(v) = map.get("signedIdentity") else {
        return Ok(SignedIdentity::MatchRepoDigestOrExact);
    };
    let at = format!("{at}.signedIdentity");
    let (map, kind) = typed_object(v, &at, |kind| match kind {
        "exactReference" => &["dockerReference"],
        "exactRepository" => &["dockerRepository"],
        "remapIdentity" => &["prefix", "signedPrefix"],
        _ => &[],
    })?;
    let field = |name: &str| -> Result<&str, TrustError> {
        match map.get(name) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(bad(format!("{at}.{name}"), "must be a string")),
            None => Err(bad(&at, format!("missing key {name:?} for type {kind:?}"))),
        }
    };
    match kind {
        "matchExact" => Ok(SignedIdentity::MatchExact),
        "matchRepoDigestOrExact" => Ok(SignedIdentity::MatchRepoDigestOrExact),
        "matchRepository" => Ok(SignedIdentity::MatchRepository),
        "exactReference" => {
            let r = field("dockerReference")?;
            let parsed = parse_normalized(r)
                .map_err(|e| bad(format!("{at}.dockerReference"), e.to_string()))?;
            if parsed.is_name_only() {
                return Err(bad(
                    format!("{at}.dockerReference"),
                    format!("{r:?} contains neither a tag nor a digest"),
                ));
            }
            Ok(SignedIdentity::ExactReference(r.to_string()))
        }
        "exactRepository" => {
            let r = field("dockerRepository")?;
            parse_normalized(r)
                .map_err(|e| bad(format!("{at}.dockerRepository"), e.to_string()))?;
            Ok(SignedIdentity::ExactRepository(r.to_string()))
        }
        "remapIdentity" => {
            let prefix = field("prefix")?;
            let signed_prefix = field("signedPrefix")?;
            validate_remap_prefix(prefix)
                .map_err(|e| bad(format!("{at}.prefix"), e.to_string()))?;
            validate_remap_prefix(signed_prefix)
                .map_err(|e| bad(format!("{at}.signedPrefix"), e.to_string()))?;
            Ok(SignedIdentity::RemapIdentity {
                prefix: prefix.to_string(),
                signed_prefix: signed_prefix.to_string(),
            })
        }
        other => Err(bad(&at, format!("unknown identity type {other:?}"))),
    }
}

/// A docker scope: `""` (the transport default), `*.domain`, or a reference prefix
/// (`host[:port]`, `host/ns`, `host/repo`, `host/repo:tag`, `host/repo@digest`).
pub(crate) fn validate_docker_scope(scope: &str) -> Result<(), TrustError> {
    if scope.is_empty() {
        return Ok(());
    }
    if let Some(domain) = scope.strip_prefix("*.") {
        let ok = !domain.is_empty()
            && domain.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        return if ok {
            Ok(())
        } else {
            Err(TrustError::InvalidWildcardScope {
                scope: scope.to_string(),
            })
        };
    }
    if scope.contains('*') {
        return Err(TrustError::InvalidScope {
            scope: scope.to_string(),
            detail: ": a wildcard is only valid as a leading \"*.\"".to_string(),
        });
    }
    if scope.contains(char::is_whitespace) || scope.starts_with('/') || scope.ends_with('/') {
        return Err(TrustError::InvalidScope {
            scope: scope.to_string(),
            detail: String::new(),
        });
    }
    Ok(())
}
