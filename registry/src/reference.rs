//! Image references as the registry client takes them: berth-layers' one parser
//! ([`berth_layers::reference`]) with the client's own policy on top: the `docker://`
//! transport prefix is accepted, and only sha256 digests are asked for (berth verifies
//! sha256 only), so a sha384 or sha512 reference is refused before any request.

use berth_layers::digest::check_supported;
pub use berth_layers::reference::{
    api_host, ParsedReference as Parsed, Reference, ReferenceError, DOCKER_IO,
};

use crate::error::{RegistryError, Result};

impl From<ReferenceError> for RegistryError {
    fn from(e: ReferenceError) -> RegistryError {
        RegistryError::Reference {
            input: e.input,
            why: e.why,
        }
    }
}

fn sha256_only(input: &str, digest: Option<&berth_layers::Digest>) -> Result<()> {
    match digest.map(check_supported) {
        Some(Err(why)) => Err(RegistryError::Reference {
            input: input.to_string(),
            why: format!("bad digest: {why}"),
        }),
        _ => Ok(()),
    }
}

/// Parse a reference without qualifying it (`docker://` accepted); a short name keeps no
/// registry, for registries.conf to resolve.
pub fn parse(input: &str) -> Result<Parsed> {
    let s = input.strip_prefix("docker://").unwrap_or(input);
    let parsed = Parsed::parse(s).map_err(|e| RegistryError::Reference {
        input: input.to_string(),
        why: e.why,
    })?;
    sha256_only(input, parsed.digest())?;
    Ok(parsed)
}

/// Parse and qualify with Docker's defaults (`docker.io`, `library/`, `:latest`).
pub fn parse_docker(input: &str) -> Result<Reference> {
    let r = Reference::parse_docker(input)?;
    sha256_only(input, r.digest())?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_policy_on_the_one_parser() {
        // The grammar and normalisation are berth-layers' (tested there); the client adds
        // the `docker://` prefix and sha256 only.
        assert_eq!(
            parse_docker("docker://busybox:1.36").unwrap().to_string(),
            "docker.io/library/busybox:1.36"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse_docker(&format!("host:5000/app:1@{d}")).unwrap();
        assert_eq!(r.api_reference(), d);
        assert_eq!(r.store_name(), "host:5000/app:1");
        let p = parse("docker://app:1").unwrap();
        assert!(p.is_short_name());
        assert_eq!(p.tag(), Some("1"));
    }

    #[test]
    fn bad_references_name_the_input() {
        let sha512 = format!("app@sha512:{}", "a".repeat(128));
        for bad in [
            "",
            "UPPER",
            "a//b",
            "a/-b",
            "app:",
            "app:-x",
            "app@sha256:xyz",
            "app@md5:abc",
            "a_-b",
            "host:5000/",
            "docker://",
            "docker://UP",
            sha512.as_str(),
        ] {
            let e = parse_docker(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
