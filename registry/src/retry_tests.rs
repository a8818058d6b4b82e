//! Unit tests of the one retry rule: errors made by real sockets and a real HTTP listener on
//! 127.0.0.1, classified by kind; and the two loops over it.
use super::*;
use crate::client::{Client, ClientOptions};
use crate::test_server::{ok, serve, serve_with};
use std::io::Read;

fn refused() -> RegistryError {
    RegistryError::Http {
        method: "GET".into(),
        url: "http://127.0.0.1:9/v2/".into(),
        message: "Connection refused".into(),
        failure: NetFailure::Refused,
    }
}

#[test]
fn retries_what_may_pass_and_stops_at_the_limit() {
    let policy = RetryPolicy {
        times: 3,
        delay: Duration::ZERO,
    };
    let mut calls = 0;
    let r: Result<()> = if_necessary(policy, || {
        calls += 1;
        Err(refused())
    });
    assert!(r.is_err());
    assert_eq!(calls, 4, "the first attempt and 3 retries");
    let mut calls = 0;
    let r: Result<()> = if_necessary(policy, || {
        calls += 1;
        Err(RegistryError::ManifestUnknown {
            reference: "x".into(),
            url: "u".into(),
        })
    });
    assert!(r.is_err());
    assert_eq!(calls, 1, "a missing manifest is not retried");
    let mut calls = 0;
    let r = if_necessary(policy, || {
        calls += 1;
        if calls < 3 {
            Err(refused())
        } else {
            Ok(calls)
        }
    });
    assert_eq!(r.unwrap(), 3);
}

#[test]
fn durations_read_as_go_prints_them() {
    assert_eq!(go_duration(Duration::from_secs(1)), "1s");
    assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(go_duration(Duration::from_millis(10)), "10ms");
    assert_eq!(go_duration(Duration::ZERO), "0s");
}

/// A client for the host of `base` (`http://127.0.0.1:PORT`), and a URL under it.
fn client_for(base: &str) -> Client {
    Client::new(base.trim_start_matches("http://"), ClientOptions::default()).unwrap()
}

/// The error of opening `{url_base}/f` with a client for `base`'s host.
fn open_fails(base: &str, url_base: &str) -> RegistryError {
    client_for(base)
        .open_plain(&format!("{url_base}/f"))
        .err()
        .unwrap()
}

/// What failed on the wire, for an HTTP error.
fn failure(e: &RegistryError) -> Option<NetFailure> {
    match e {
        RegistryError::Http { failure, .. } => Some(*failure),
        _ => None,
    }
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

#[test]
fn a_refused_connection_may_pass() {
    // The io error itself, as the socket gives it.
    let io = std::net::TcpStream::connect(closed_port().trim_start_matches("http://")).unwrap_err();
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(NetFailure::of_io_kind(io.kind()), Some(NetFailure::Refused));
    // And through the client, whose error keeps the kind beside its words.
    let base = closed_port();
    let e = open_fails(&base, &base);
    assert_eq!(failure(&e), Some(NetFailure::Refused), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.to_string().contains("Connection refused"), "{e}");
}

#[test]
fn a_5xx_or_429_may_pass_a_404_does_not() {
    let status = |line: &str| {
        format!("HTTP/1.1 {line}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let base = serve(vec![
        status("503 Service Unavailable"),
        status("429 Too Many Requests"),
        status("404 Not Found"),
    ]);
    let client = client_for(&base);
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = client.open_plain(&format!("{base}/f")).err().unwrap();
        got.push((e.to_string(), e.is_retryable()));
    }
    assert!(got[0].0.contains("503") && got[0].1, "{got:?}");
    assert!(got[1].0.contains("429") && got[1].1, "{got:?}");
    assert!(got[2].0.contains("404") && !got[2].1, "{got:?}");
}

#[test]
fn a_connection_closed_before_the_answer_may_pass() {
    // The server reads the request and hangs up without a word (Go's `url.Error` with EOF).
    let base = serve(vec![Vec::new()]);
    let e = open_fails(&base, &base);
    assert_eq!(failure(&e), Some(NetFailure::Cut), "{e:?}");
    assert!(e.is_retryable());
}

#[test]
fn a_body_cut_short_may_pass_through_the_store_error_that_carries_it() {
    // Ten bytes announced, four sent, then the connection closes.
    let base = serve(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabcd".to_vec(),
    ]);
    let mut body = client_for(&base)
        .open_plain(&format!("{base}/blob"))
        .unwrap();
    let mut got = Vec::new();
    let io = body.read_to_end(&mut got).unwrap_err();
    // How pull's blob loop sees it: the store's `Source`, the read error kept inside.
    let e = RegistryError::Store(StoreError::Source {
        what: "blob sha256:ab".into(),
        source: io,
    });
    assert!(e.is_retryable(), "{e:?}");
    assert!(
        e.to_string().contains("blob sha256:ab: reading source"),
        "{e}"
    );
    // Its message alone decides nothing: the same words without the kind do not retry.
    let said = RegistryError::Store(StoreError::Invalid(e.to_string()));
    assert!(!said.is_retryable());
}

#[test]
fn tls_failures_and_bad_content_do_not_pass() {
    // An HTTPS request answered in plain HTTP.
    let base = serve_with(vec![ok("hello")], false);
    let https = base.replace("http://", "https://");
    let e = open_fails(&base, &https);
    assert_eq!(failure(&e), Some(NetFailure::Tls), "{e:?}");
    assert!(!e.is_retryable());
    let mismatch = RegistryError::Store(StoreError::DigestMismatch {
        what: "blob sha256:ab".into(),
        expected: "10 bytes".into(),
        actual: "4 bytes".into(),
    });
    assert!(!mismatch.is_retryable());
    // A verifying reader's mismatch (InvalidData) inside a source read does not either.
    let verified = RegistryError::Store(StoreError::Source {
        what: "blob sha256:ab".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "digest mismatch"),
    });
    assert!(!verified.is_retryable());
}

#[test]
fn a_registry_error_carried_by_the_copy_routine_keeps_its_kind() {
    let status = RegistryError::Status {
        method: "GET".into(),
        url: "u".into(),
        status: 502,
        detail: String::new(),
    };
    let carried = RegistryError::Store(StoreError::transport(status));
    assert!(carried.is_retryable());
    let local = RegistryError::ReadBlob {
        digest: "sha256:ab".into(),
        source: std::io::Error::other(refused()),
    };
    assert!(local.is_retryable());
    assert!(local
        .to_string()
        .starts_with("blob sha256:ab: reading local blob: "));
}

#[test]
fn a_blob_is_retried_under_the_same_rule_and_policy_resuming_its_state() {
    let policy = RetryPolicy {
        times: 2,
        delay: Duration::ZERO,
    };
    let digest = berth_layers::digest::digest_bytes(b"x");
    // Each attempt sees what the one before left (pull resumes with `Range` this way).
    let mut offset = 0;
    let r = blob(policy, &digest, || {
        offset += 4;
        if offset < 12 {
            Err(refused())
        } else {
            Ok(offset)
        }
    });
    assert_eq!(r.unwrap(), 12);
    let mut calls = 0;
    let r: Result<()> = blob(policy, &digest, || {
        calls += 1;
        Err(refused())
    });
    assert!(r.is_err());
    assert_eq!(calls, 3, "the first attempt and the policy's 2 retries");
    let mut calls = 0;
    let r: Result<()> = blob(policy, &digest, || {
        calls += 1;
        Err(RegistryError::Auth {
            url: "u".into(),
            message: "denied".into(),
        })
    });
    assert!(r.is_err());
    assert_eq!(calls, 1, "refused credentials are not retried");
}
