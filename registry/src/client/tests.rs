//! Unit tests of the HTTP client's parsing helpers.

use super::*;

#[test]
fn challenge_parsing() {
    let mut h = HeaderMap::new();
    h.insert(
        reqwest::header::WWW_AUTHENTICATE,
        r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#
            .parse()
            .unwrap(),
    );
    match parse_challenge(&h) {
        Some(Challenge::Bearer { realm, service }) => {
            assert_eq!(realm, "https://auth.example.com/token");
            assert_eq!(service.as_deref(), Some("registry.example.com"));
        }
        other => panic!("{other:?}"),
    }
    h.insert(
        reqwest::header::WWW_AUTHENTICATE,
        r#"Basic realm="Registry Realm""#.parse().unwrap(),
    );
    assert!(matches!(parse_challenge(&h), Some(Challenge::Basic)));
}
