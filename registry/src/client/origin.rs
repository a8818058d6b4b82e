//! Which credentials a request may carry: the one decision every request of the client
//! goes through ([`credentials_for`]), and the resolution of a `Link` against the registry.
//!
//! Credentials are given for one origin (scheme, host, port): the registry's, as pinged.
//! - A request to that origin carries the registry's `Authorization` (Basic credentials or
//!   the bearer token of its scope).
//! - A request to any other origin (a redirect to a CDN, an upload `Location` on another
//!   host) carries nothing, and its 401 is not answered.
//! - The token request goes to the bearer realm the registry named, which may be another
//!   host (that is how token auth works): it carries the Basic credentials, but only to the
//!   realm's own origin, and never over plain HTTP when the registry is HTTPS (refused before
//!   anything is sent).
//! - Requests outside the registry API (a lookaside signature server) carry nothing.
//!
//! Redirects ([`redirect_allowed`]) go to http(s) only, and never from HTTPS down to plain
//! HTTP unless the registry is insecure (`--tls-verify=false`).
//!
//! A `Link: <…>; rel="next"` page keeps only its path and query, on the registry's origin (as
//! containers/image does): a registry cannot send berth, or its credentials, elsewhere to
//! read a list.

use url::Url;

/// What a request is for, as far as credentials go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose<'a> {
    /// The registry API: its own URLs and those it names (upload `Location`, redirects).
    Registry,
    /// The token request to the bearer `realm` the registry named (and its redirects);
    /// `with_credentials`: the client holds Basic credentials to send.
    Token {
        realm: &'a Url,
        with_credentials: bool,
    },
    /// Outside the registry API (lookaside signatures, the ping): never credentials.
    Anonymous,
}

/// Which credentials a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carry {
    /// None.
    Nothing,
    /// The registry's `Authorization`: its Basic credentials or the bearer token of the scope.
    Registry,
    /// The Basic credentials, to fetch a token from the realm.
    Basic,
}

/// Whether `a` and `b` have the same origin: scheme, host and port (default ports filled in);
/// a URL without one (`file:`, `data:`) has no origin in common with anything.
fn same_origin(a: &Url, b: &Url) -> bool {
    let origin = a.origin();
    origin.is_tuple() && origin == b.origin()
}

/// The credentials a request to `url` may carry, for a client of the registry at `registry`
/// (its base URL), sending it for `purpose`. An error (one line naming the realm) when a
/// token realm may not be asked at all.
pub(crate) fn credentials_for(
    registry: &Url,
    url: &Url,
    purpose: Purpose<'_>,
) -> Result<Carry, String> {
    match purpose {
        Purpose::Anonymous => Ok(Carry::Nothing),
        Purpose::Registry if same_origin(url, registry) => Ok(Carry::Registry),
        Purpose::Registry => Ok(Carry::Nothing),
        Purpose::Token {
            realm,
            with_credentials,
        } => {
            if !matches!(realm.scheme(), "http" | "https") {
                return Err(format!("token realm {realm} is not an http or https URL"));
            }
            if !with_credentials {
                return Ok(Carry::Nothing);
            }
            if realm.scheme() == "http" && registry.scheme() == "https" {
                return Err(format!(
                    "refusing to send credentials over plain HTTP to token realm {realm}: the registry is HTTPS"
                ));
            }
            Ok(if same_origin(url, realm) {
                Carry::Basic
            } else {
                Carry::Nothing
            })
        }
    }
}

/// Whether a redirect from `from` to `to` may be followed: only to http(s), and never from
/// HTTPS down to plain HTTP unless the registry is `insecure` (what comes back could be
/// changed on the way, and a tag's manifest or a token has no digest to check it by).
pub(crate) fn redirect_allowed(from: &Url, to: &Url, insecure: bool) -> bool {
    match (from.scheme(), to.scheme()) {
        ("https", "http") => insecure,
        (_, "http" | "https") => true,
        _ => false,
    }
}

/// The next page a `Link` names, on the registry's origin: `link` resolved against the page
/// `current`, keeping only its path and query.
pub(crate) fn link_on_registry(registry: &Url, current: &Url, link: &str) -> Result<Url, String> {
    let resolved = current
        .join(link)
        .map_err(|e| format!("bad Link {link:?}: {e}"))?;
    let mut next = registry.clone();
    next.set_path(resolved.path());
    next.set_query(resolved.query());
    next.set_fragment(None);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn registry_credentials_stay_on_the_registry_origin() {
        let reg = u("https://reg.example:5000");
        let ok = |url: &str| credentials_for(&reg, &u(url), Purpose::Registry).unwrap();
        assert_eq!(
            ok("https://reg.example:5000/v2/a/tags/list"),
            Carry::Registry
        );
        assert_eq!(ok("https://REG.example:5000/v2/"), Carry::Registry);
        for other in [
            "https://reg.example:5001/v2/a/tags/list",
            "http://reg.example:5000/v2/a/tags/list",
            "https://evil.example:5000/v2/",
            "https://reg.example/v2/",
            "https://reg.example.evil:5000/v2/",
            "file:///v2/",
        ] {
            assert_eq!(ok(other), Carry::Nothing, "{other}");
        }
        // Default ports are the same origin written either way.
        let reg = u("https://reg.example");
        assert_eq!(
            credentials_for(&reg, &u("https://reg.example:443/v2/"), Purpose::Registry),
            Ok(Carry::Registry)
        );
        assert_eq!(
            credentials_for(&reg, &u("http://reg.example:443/v2/"), Purpose::Registry),
            Ok(Carry::Nothing)
        );
    }

    #[test]
    fn anonymous_requests_never_carry_credentials() {
        let reg = u("https://reg.example");
        assert_eq!(
            credentials_for(&reg, &reg.join("/v2/").unwrap(), Purpose::Anonymous),
            Ok(Carry::Nothing)
        );
    }

    #[test]
    fn basic_credentials_go_to_the_token_realm_only() {
        let reg = u("https://reg.example");
        let realm = u("https://auth.example/token?x=1");
        let token = |url: &str| {
            credentials_for(
                &reg,
                &u(url),
                Purpose::Token {
                    realm: &realm,
                    with_credentials: true,
                },
            )
        };
        assert_eq!(
            token("https://auth.example/token?x=1&scope=s"),
            Ok(Carry::Basic)
        );
        // A redirect from the realm elsewhere: nothing.
        assert_eq!(token("https://cdn.example/token"), Ok(Carry::Nothing));
        assert_eq!(token("http://auth.example/token"), Ok(Carry::Nothing));
        // The registry's own origin is not the realm's: the registry token is not sent there.
        assert_eq!(token("https://reg.example/token"), Ok(Carry::Nothing));
    }

    #[test]
    fn a_plain_http_realm_of_an_https_registry_is_refused_with_credentials() {
        let realm = u("http://auth.example/token");
        let purpose = |with_credentials| Purpose::Token {
            realm: &realm,
            with_credentials,
        };
        let err = credentials_for(&u("https://reg.example"), &realm, purpose(true)).unwrap_err();
        assert!(
            err.contains("http://auth.example/token") && err.contains("plain HTTP"),
            "{err}"
        );
        // Anonymous token requests send nothing and may go.
        assert_eq!(
            credentials_for(&u("https://reg.example"), &realm, purpose(false)),
            Ok(Carry::Nothing)
        );
        // A plain-HTTP registry (insecure) may have a plain-HTTP realm.
        assert_eq!(
            credentials_for(&u("http://reg.example"), &realm, purpose(true)),
            Ok(Carry::Basic)
        );
        let odd = u("ftp://auth.example/token");
        assert!(credentials_for(
            &u("http://reg.example"),
            &odd,
            Purpose::Token {
                realm: &odd,
                with_credentials: false
            }
        )
        .is_err());
    }

    #[test]
    fn redirects_never_downgrade_to_plain_http_unless_insecure() {
        let https = u("https://reg.example/v2/a/blobs/sha256:1");
        let http = u("http://cdn.example/b");
        assert!(redirect_allowed(&https, &u("https://cdn.example/b"), false));
        assert!(!redirect_allowed(&https, &http, false));
        assert!(redirect_allowed(&https, &http, true));
        assert!(redirect_allowed(&http, &http, false));
        assert!(!redirect_allowed(&https, &u("file:///etc/passwd"), true));
    }

    #[test]
    fn links_keep_only_their_path_and_query_on_the_registry() {
        let reg = u("https://reg.example:5000");
        let page = u("https://reg.example:5000/v2/a/tags/list");
        let next = |link: &str| link_on_registry(&reg, &page, link).unwrap().to_string();
        assert_eq!(
            next("</v2/a/tags/list?last=b&n=2>".trim_matches(['<', '>'])),
            "https://reg.example:5000/v2/a/tags/list?last=b&n=2"
        );
        assert_eq!(
            next("http://127.0.0.1:9/v2/a/tags/list?last=evil#f"),
            "https://reg.example:5000/v2/a/tags/list?last=evil"
        );
        assert_eq!(
            next("//other.example/v2/x?n=1"),
            "https://reg.example:5000/v2/x?n=1"
        );
        assert_eq!(
            next("?last=c"),
            "https://reg.example:5000/v2/a/tags/list?last=c"
        );
    }
}
