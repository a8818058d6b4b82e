//! The reference grammar: normalisation, short names, limits and hostile input.

use super::*;

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn docker(s: &str) -> String {
    Reference::parse_docker(s).unwrap().to_string()
}

fn normalized(s: &str) -> String {
    Reference::parse_normalized(s).unwrap().to_string()
}

#[test]
fn docker_normalisation() {
    assert_eq!(docker("busybox"), "docker.io/library/busybox:latest");
    assert_eq!(
        docker("docker://busybox:1.36"),
        "docker.io/library/busybox:1.36"
    );
    assert_eq!(docker("user/app"), "docker.io/user/app:latest");
    assert_eq!(
        docker("index.docker.io/user/app"),
        "docker.io/user/app:latest"
    );
    assert_eq!(docker("docker.io/busybox:1"), "docker.io/library/busybox:1");
    assert_eq!(docker("localhost/app"), "localhost/app:latest");
    assert_eq!(docker("127.0.0.1:5000/a/b:v1"), "127.0.0.1:5000/a/b:v1");
    assert_eq!(docker("quay.io/x/y:z"), "quay.io/x/y:z");
    assert_eq!(docker("[::1]:5000/a"), "[::1]:5000/a:latest");
    assert_eq!(
        docker(&format!("busybox@{D}")),
        format!("docker.io/library/busybox@{D}")
    );
    let r = Reference::parse_docker(&format!("host:5000/app:1@{D}")).unwrap();
    assert_eq!(r.registry(), "host:5000");
    assert_eq!(r.repository(), "app");
    assert_eq!(r.tag(), Some("1"));
    assert_eq!(r.digest().map(ToString::to_string).as_deref(), Some(D));
    assert_eq!(r.api_reference(), D);
    assert_eq!(r.store_name(), "host:5000/app:1");
    assert_eq!(
        Reference::parse_docker("busybox").unwrap().api_host(),
        DOCKER_IO_API_HOST
    );
    assert_eq!(
        Reference::parse_docker("x.io/a").unwrap().api_host(),
        "x.io"
    );
}

#[test]
fn normalized_keeps_name_only() {
    let r = Reference::parse_normalized("busybox").unwrap();
    assert_eq!(r.to_string(), "docker.io/library/busybox");
    assert!(r.is_name_only());
    assert_eq!(r.api_reference(), "latest");
    assert_eq!(r.store_name(), "docker.io/library/busybox:latest");
    assert_eq!(normalized("user/app:1"), "docker.io/user/app:1");
    assert_eq!(
        normalized("index.docker.io/busybox:1"),
        "docker.io/library/busybox:1"
    );
    // sha384/sha512 are valid references; which algorithms a caller verifies is its policy.
    let sha512 = format!("sha512:{}", "b".repeat(128));
    assert!(Reference::parse_normalized(&format!("x.io/a@{sha512}")).is_ok());
    assert!(Reference::parse_canonical("docker.io/busybox:1").is_err());
    assert!(Reference::parse_canonical("docker.io/library/busybox:1").is_ok());
    assert_eq!(
        "busybox".parse::<Reference>().unwrap(),
        Reference::parse_normalized("busybox").unwrap()
    );
}

#[test]
fn short_names_and_qualification() {
    let p = ParsedReference::parse("app:1").unwrap();
    assert!(p.is_short_name());
    assert_eq!(p.path(), "app");
    assert_eq!(
        p.qualify("example.com").unwrap().to_string(),
        "example.com/app:1"
    );
    assert_eq!(
        p.qualify(DOCKER_IO).unwrap().to_string(),
        "docker.io/library/app:1"
    );
    assert_eq!(
        p.qualify_or("localhost").unwrap().to_string(),
        "localhost/app:1"
    );
    let p = ParsedReference::parse("docker.io/busybox").unwrap();
    assert!(!p.is_short_name());
    assert_eq!(p.registry(), Some(DOCKER_IO));
    assert_eq!(p.path(), "busybox");
    let p = ParsedReference::parse("localhost/x").unwrap();
    assert_eq!(p.registry(), Some("localhost"));
    // An alias target keeps its tag unless the input named one; the digest is the input's.
    let target = ParsedReference::parse("quay.io/a/b:7").unwrap();
    let input = ParsedReference::parse("b").unwrap();
    let aliased = target.clone().with_tag_and_digest_of(&input);
    assert_eq!(
        aliased.qualify_or(DOCKER_IO).unwrap().to_string(),
        "quay.io/a/b:7"
    );
    let input = ParsedReference::parse("b:8").unwrap();
    let aliased = target.with_tag_and_digest_of(&input);
    assert_eq!(
        aliased.qualify_or(DOCKER_IO).unwrap().to_string(),
        "quay.io/a/b:8"
    );
}

#[test]
fn rewrites_are_checked() {
    let r = Reference::parse_docker(&format!("x.io/a:1@{D}")).unwrap();
    let m = r.with_name("mirror.local", "m/a").unwrap();
    assert_eq!(m.to_string(), format!("mirror.local/m/a:1@{D}"));
    assert_eq!(m.name_only().to_string(), "mirror.local/m/a");
    assert!(r.with_name("mirror.local", "").is_err());
    assert!(r.with_name("bad host", "a").is_err());
    assert!(r.with_name("x.io", "UP").is_err());
    assert!(r.with_name("x.io", &"a".repeat(NAME_MAX)).is_err());
}

#[test]
fn bad_references_name_the_input() {
    for bad in [
        "",
        "UPPER",
        "Busybox",
        "a//b",
        "/foo",
        "foo/",
        "a/-b",
        "-a",
        "a-",
        "a..b",
        "a___b",
        "a_-b",
        "app:",
        "app:-x",
        "app:.x",
        "foo:bad/tag",
        "app@sha256:xyz",
        "app@md5:abc",
        "x.io/a@sha256:12",
        "host:5000/",
        "x.io/UP",
        "ho st/a",
        "x.io:port/a",
        "bad_host.com:x/foo",
        "[::1/a",
        "[zz]/a",
        "[::1]x/a",
        "a:b:c",
        "a@b@c",
    ] {
        let e = Reference::parse_docker(bad).unwrap_err();
        assert_eq!(e.input, bad);
        assert!(e.to_string().contains(&format!("{bad:?}")), "{bad}: {e}");
        assert!(Reference::parse_normalized(bad).is_err(), "{bad}");
        assert!(ParsedReference::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn errors_say_what_is_wrong() {
    let why = |s: &str| ParsedReference::parse(s).unwrap_err().why;
    assert!(why("Busybox").contains("must be lowercase"));
    assert!(why("a___b").contains("\"___\""));
    assert!(why("app:-x").contains("bad tag \"-x\""));
    assert!(why("x.io:port/a").contains("port must be digits"));
    let md5 = why("a@md5:d41d8cd98f00b204e9800998ecf8427e");
    assert!(md5.contains("unsupported digest algorithm md5"), "{md5}");
    assert!(why("host:5000/").contains("no repository"));
}

#[test]
fn limits() {
    // A tag of 128 characters is the longest.
    let tag = "t".repeat(TAG_MAX);
    assert!(Reference::parse_docker(&format!("a:{tag}")).is_ok());
    assert!(Reference::parse_docker(&format!("a:{tag}t")).is_err());
    // The qualified name (registry included) is at most 255 characters.
    let host = "x.io/";
    let path = "a".repeat(NAME_MAX - host.len());
    assert!(Reference::parse_docker(&format!("{host}{path}")).is_ok());
    assert!(Reference::parse_docker(&format!("{host}{path}a")).is_err());
    // docker.io/library/ counts: a short name that fits as typed may not once qualified.
    let short = "a".repeat(NAME_MAX - "docker.io/library/".len());
    assert!(Reference::parse_docker(&short).is_ok());
    let e = Reference::parse_docker(&format!("{short}a")).unwrap_err();
    assert!(e.why.contains("longer than 255"), "{e}");
    let p = ParsedReference::parse(&format!("{short}a")).unwrap();
    assert!(p.qualify("localhost").is_ok());
    assert!(p.qualify(DOCKER_IO).is_err());
    // Far too long input is refused without trouble.
    assert!(Reference::parse_docker(&"a".repeat(1 << 20)).is_err());
    assert!(Reference::parse_docker(&format!("a:{}", "t".repeat(1 << 20))).is_err());
}

#[test]
fn hostile_input() {
    for bad in [
        "a\0b",
        "a/\0",
        "a\n",
        "a b",
        "ä",
        "a/ä:1",
        "a:ä",
        "../x",
        "a/../b",
        "./a",
        "a/./b",
        "@",
        ":",
        "/",
        "@sha256:",
        ":tag",
        "x.io/a:b@",
        "x.io/a@",
        "localhost:/a",
        "localhost:99999999999999999999999/a",
        ".io/a",
        "-x.io/a",
        "x-.io/a",
        "x..io/a",
        "[]/a",
        "[::1]:/a",
        "a\u{202e}b",
        "a%2fb",
        "a\\b",
        "a/b#c",
    ] {
        let p = ParsedReference::parse(bad);
        // A huge port is digits and so passes the grammar, like Docker's.
        if bad.starts_with("localhost:9") {
            assert!(p.is_ok(), "{bad:?}");
            continue;
        }
        assert!(p.is_err(), "{bad:?} parsed as {p:?}");
    }
    // Uppercase hex is not a sha256 digest.
    assert!(Reference::parse_docker(&format!("a@{}", D.to_uppercase())).is_err());
}

#[test]
fn hosts() {
    for ok in [
        "x.io",
        "x.io:5000",
        "localhost",
        "127.0.0.1:5000",
        "[::1]",
        "[fe80::1]:5000",
        "A.io",
    ] {
        assert_eq!(check_registry_host(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "x..io",
        "-x",
        "x-",
        "x:",
        "x:p",
        "[::1",
        "[::1]5000",
        "[g]",
        "a b",
        "x_y.io",
    ] {
        assert!(check_registry_host(bad).is_err(), "{bad}");
    }
}
