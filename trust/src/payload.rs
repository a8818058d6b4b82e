//! The simple-signing payload (containers-signature(5)): the JSON document a GPG ("atomic")
//! or cosign signature signs, binding a manifest digest to a docker reference.
//!
//! Parsing is as strict as containers/image's: duplicate or unknown keys in `critical`, a wrong
//! `type`, a malformed digest or a fractional timestamp are all errors.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::TrustError;

/// Which flavour of payload: they differ only in `critical.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// GPG simple signing: `atomic container signature`.
    Atomic,
    /// Cosign (sigstore): `cosign container image signature`.
    Cosign,
}

impl PayloadKind {
    /// The value of `critical.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            PayloadKind::Atomic => "atomic container signature",
            PayloadKind::Cosign => "cosign container image signature",
        }
    }
}

/// The two values a payload vouches for. Untrusted until the signature over it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// `critical.identity.docker-reference`, as signed (possibly not normalized).
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest` (`algorithm:hex`, validated).
    pub manifest_digest: String,
}

/// Serialize a payload as containers/image writes it, with `optional.creator` and
/// `optional.timestamp` (seconds since the epoch).
pub fn make_payload(kind: PayloadKind, docker_reference: &str, manifest_digest: &str) -> Vec<u8> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let value = serde_json::json!({
        "critical": {
            "identity": { "docker-reference": docker_reference },
            "image": { "docker-manifest-digest": manifest_digest },
            "type": kind.type_name(),
        },
        "optional": {
            "creator": format!("berth {}", env!("CARGO_PKG_VERSION")),
            "timestamp": timestamp,
        },
    });
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

/// Parse and validate a payload of `kind`. The error is one line saying what is wrong.
pub fn parse_payload(kind: PayloadKind, bytes: &[u8]) -> Result<Payload, TrustError> {
    let value = strict_json(bytes).map_err(|e| TrustError::Payload(e.to_string()))?;
    let bad = TrustError::Payload;
    let top = exact_object(&value, "the payload", &["critical", "optional"])?;
    match &top["optional"] {
        // cosign writes `"optional": null` when there are no annotations.
        Value::Null if kind == PayloadKind::Cosign => {}
        Value::Object(optional) => {
            if let Some(creator) = optional.get("creator") {
                if !creator.is_string() {
                    return Err(bad("optional.creator must be a string".into()));
                }
            }
            if let Some(ts) = optional.get("timestamp") {
                if !is_integer(ts) {
                    return Err(bad("optional.timestamp is not an integer".into()));
                }
            }
        }
        _ => return Err(bad("optional must be an object".into())),
    }
    let critical = exact_object(&top["critical"], "critical", &["identity", "image", "type"])?;
    match &critical["type"] {
        Value::String(t) if t == kind.type_name() => {}
        Value::String(t) => return Err(bad(format!("unrecognized signature type {t:?}"))),
        _ => return Err(bad("critical.type must be a string".into())),
    }
    let image = exact_object(
        &critical["image"],
        "critical.image",
        &["docker-manifest-digest"],
    )?;
    let Value::String(digest) = &image["docker-manifest-digest"] else {
        return Err(bad(
            "critical.image.docker-manifest-digest must be a string".into(),
        ));
    };
    berth_layers::Digest::from_str(digest).map_err(|e| {
        bad(format!(
            "invalid docker-manifest-digest value {digest:?}: {e}"
        ))
    })?;
    let identity = exact_object(
        &critical["identity"],
        "critical.identity",
        &["docker-reference"],
    )?;
    let Value::String(reference) = &identity["docker-reference"] else {
        return Err(bad(
            "critical.identity.docker-reference must be a string".into()
        ));
    };
    Ok(Payload {
        docker_reference: reference.clone(),
        manifest_digest: digest.clone(),
    })
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// `v` as an object holding exactly `keys`, no more, no fewer.
fn exact_object<'a>(
    v: &'a Value,
    what: &str,
    keys: &[&str],
) -> Result<&'a Map<String, Value>, TrustError> {
    let Value::Object(map) = v else {
        return Err(TrustError::Payload(format!("{what} must be an object")));
    };
    if let Some(k) = map.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(TrustError::Payload(format!("unknown key {k:?} in {what}")));
    }
    if let Some(k) = keys.iter().find(|k| !map.contains_key(**k)) {
        return Err(TrustError::Payload(format!("key {k:?} missing in {what}")));
    }
    Ok(map)
}

/// Parse JSON into a [`Value`], refusing duplicate object keys at any depth (plain
/// `serde_json::Value` silently keeps the last one) and trailing data.
pub(crate) fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let StrictValue(value) = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A JSON value whose objects had no duplicate keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn payload(kind: &str, optional: &str) -> String {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"x.io/a:1"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"{kind}"}},"optional":{optional}}}"#
        )
    }

    #[test]
    fn round_trip_both_kinds() {
        for kind in [PayloadKind::Atomic, PayloadKind::Cosign] {
            let bytes = make_payload(kind, "x.io/a:1", DIGEST);
            let p = parse_payload(kind, &bytes).unwrap();
            assert_eq!(p.docker_reference, "x.io/a:1");
            assert_eq!(p.manifest_digest, DIGEST);
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["critical"]["type"], kind.type_name());
            assert!(v["optional"]["creator"]
                .as_str()
                .unwrap()
                .starts_with("berth "));
            assert!(v["optional"]["timestamp"].is_u64());
        }
        // The flavours are not interchangeable.
        let bytes = make_payload(PayloadKind::Atomic, "x.io/a:1", DIGEST);
        let err = parse_payload(PayloadKind::Cosign, &bytes).unwrap_err();
        assert!(
            err.to_string().contains("unrecognized signature type"),
            "{err}"
        );
    }

    #[test]
    fn optional_rules() {
        let atomic = "atomic container signature";
        let cosign = "cosign container image signature";
        assert!(parse_payload(PayloadKind::Atomic, payload(atomic, "{}").as_bytes()).is_ok());
        // Free-form optional keys are allowed.
        let ok = payload(atomic, r#"{"x":[1,{"y":2}],"timestamp":5.0}"#);
        assert!(parse_payload(PayloadKind::Atomic, ok.as_bytes()).is_ok());
        // cosign's `"optional": null`, only for cosign.
        assert!(parse_payload(PayloadKind::Cosign, payload(cosign, "null").as_bytes()).is_ok());
        assert!(parse_payload(PayloadKind::Atomic, payload(atomic, "null").as_bytes()).is_err());
        for bad in [r#""x""#, r#"{"timestamp":1.5}"#, r#"{"creator":1}"#] {
            let err = parse_payload(PayloadKind::Atomic, payload(atomic, bad).as_bytes());
            assert!(err.is_err(), "{bad}");
        }
    }

    #[test]
    fn strict_failures() {
        let atomic = PayloadKind::Atomic;
        let cases = [
            // optional missing
            (
                format!(
                    r#"{{"critical":{{"identity":{{"docker-reference":"a"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}}}}"#
                ),
                "\"optional\" missing",
            ),
            // extra key in critical
            (
                format!(
                    r#"{{"critical":{{"x":1,"identity":{{"docker-reference":"a"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}},"optional":{{}}}}"#
                ),
                "unknown key \"x\" in critical",
            ),
            // duplicate key
            (
                format!(
                    r#"{{"critical":{{"identity":{{"docker-reference":"a","docker-reference":"b"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}},"optional":{{}}}}"#
                ),
                "duplicate key \"docker-reference\"",
            ),
            // bad digest
            (
                r#"{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":"sha256:xyz"},"type":"atomic container signature"},"optional":{}}"#.to_string(),
                "invalid docker-manifest-digest",
            ),
            // wrong type of a field
            (
                format!(
                    r#"{{"critical":{{"identity":{{"docker-reference":1}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}},"optional":{{}}}}"#
                ),
                "must be a string",
            ),
            ("[]".to_string(), "must be an object"),
            ("{} {}".to_string(), "trailing"),
            ("not json".to_string(), "invalid signature payload"),
        ];
        for (json, want) in cases {
            let err = parse_payload(atomic, json.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(want), "{json}: {err}");
        }
    }
}
