//! The private header parsers of the client, reachable by the fuzz targets (`fuzz/`): not
//! an API.

use reqwest::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};

/// Parse a `WWW-Authenticate` value; whether it named a challenge berth answers.
pub fn www_authenticate(value: &str) -> bool {
    let Ok(v) = HeaderValue::from_str(value) else {
        return false;
    };
    let mut headers = HeaderMap::new();
    headers.insert(WWW_AUTHENTICATE, v);
    super::parse_challenge(&headers).is_some()
}

/// The next page a `Link` header names, from a tag list on `https://registry.example:5000`.
pub fn link(header: &str) -> Option<String> {
    let registry = url::Url::parse("https://registry.example:5000").ok()?;
    let current = registry.join("/v2/a/tags/list?n=10").ok()?;
    let target = super::link_target(header)?;
    super::link_on_registry(&registry, &current, &target)
        .ok()
        .map(|u| u.to_string())
}
