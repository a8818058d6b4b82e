//! Unit tests of lists: editing, formats, annotations, files.

use super::*;

fn desc(hexchar: char, media_type: &str, arch: &str) -> Descriptor {
    let digest = parse_sha256(&format!("sha256:{}", hexchar.to_string().repeat(64))).unwrap();
    let mut d = Descriptor::new(MediaType::from(media_type), 10, digest);
    let mut p = OciPlatform::default();
    p.set_architecture(Arch::from(arch));
    p.set_os(Os::from("linux"));
    d.set_platform(Some(p));
    d
}

#[test]
fn add_replace_annotate_remove() {
    let mut l = ManifestList::new("localhost/l:latest");
    assert_eq!(l.id.len(), 64);
    let a = l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
    let b = l.add(
        desc('b', DOCKER_MANIFEST, "amd64"),
        Some(InstanceSource::Local { image: "x".into() }),
    );
    l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
    assert_eq!(l.index.manifests().len(), 2);
    l.annotate(
        &b,
        &Annotate {
            arch: Some("arm64".into()),
            variant: Some("v8".into()),
            annotations: vec![("k".into(), "v".into())],
            ..Annotate::default()
        },
    )
    .unwrap();
    let m = &l.index.manifests()[1];
    let p = m.platform().as_ref().unwrap();
    assert_eq!(p.architecture().to_string(), "arm64");
    assert_eq!(p.variant().as_deref(), Some("v8"));
    assert_eq!(m.annotations().as_ref().unwrap()["k"], "v");
    let missing = parse_sha256(&format!("sha256:{}", "c".repeat(64))).unwrap();
    let e = l.annotate(&missing, &Annotate::default()).unwrap_err();
    assert!(e.to_string().contains("is not in the list"), "{e}");
    assert!(e.to_string().contains("localhost/l:latest"), "{e}");
    assert_eq!(l.find_instance(None, b.as_ref()).unwrap(), b);
    assert!(l.find_instance(None, missing.as_ref()).is_err());
    let c = l.add(
        desc('c', DOCKER_MANIFEST, "s390x"),
        Some(InstanceSource::Docker {
            reference: format!("docker://h:5000/r@{missing}"),
        }),
    );
    assert_eq!(l.find_instance(None, "docker://h:5000/r:1").unwrap(), c);
    assert!(l.find_instance(None, "docker://h:5000/other:1").is_err());
    l.add(
        desc('d', DOCKER_MANIFEST, "s390x"),
        Some(InstanceSource::Docker {
            reference: format!("docker://h:5000/r@sha256:{}", "d".repeat(64)),
        }),
    );
    let e = l.find_instance(None, "h:5000/r").unwrap_err().to_string();
    assert!(e.contains("2 instances match"), "{e}");
    l.remove(&c).unwrap();
    l.remove(&a).unwrap();
    assert!(l.remove(&a).is_err());
    assert_eq!(l.index.manifests().len(), 2);
}

#[test]
fn push_type_follows_instances_and_format() {
    let mut l = ManifestList::new("localhost/l:latest");
    let (bytes, mt) = l.push_bytes(None).unwrap();
    assert_eq!(mt, OCI_INDEX);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["mediaType"], OCI_INDEX);
    assert_eq!(v["manifests"], serde_json::json!([]));

    let d = l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
    l.annotate_index(&[("i".into(), "j".into())]);
    l.annotate(
        &d,
        &Annotate {
            annotations: vec![("k".into(), "v".into())],
            ..Annotate::default()
        },
    )
    .unwrap();
    let (bytes, mt) = l.push_bytes(None).unwrap();
    assert_eq!(mt, DOCKER_LIST);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["mediaType"], DOCKER_LIST);
    assert!(v.get("annotations").is_none());
    assert!(v["manifests"][0].get("annotations").is_none());
    assert_eq!(v["manifests"][0]["platform"]["architecture"], "amd64");
    let (_, mt) = l.push_bytes(Some(ListFormat::Oci)).unwrap();
    assert_eq!(mt, OCI_INDEX);

    l.add(
        desc('b', "application/vnd.oci.image.manifest.v1+json", "arm64"),
        None,
    );
    assert_eq!(l.push_bytes(None).unwrap().1, OCI_INDEX);
    let e = l.push_bytes(Some(ListFormat::V2s2)).unwrap_err();
    assert!(e.to_string().contains("--format oci"), "{e}");
}

#[test]
fn annotations_parse() {
    assert_eq!(
        parse_annotation("a=b=c").unwrap(),
        ("a".to_string(), "b=c".to_string())
    );
    assert!(parse_annotation("novalue").is_err());
    assert!(parse_annotation("=x").is_err());
}

#[test]
fn lists_are_saved_found_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lists = Lists::new(&store).unwrap();
    let mut l = lists.create("mylist", false).unwrap();
    assert_eq!(l.name, "localhost/mylist:latest");
    l.add(desc('a', DOCKER_MANIFEST, "amd64"), None);
    lists.save(&l).unwrap();
    assert!(lists.create("mylist", false).is_err());
    assert_eq!(lists.create("mylist", true).unwrap().id, l.id);
    let back = lists.get("localhost/mylist").unwrap();
    assert_eq!(back.index.manifests().len(), 1);
    assert_eq!(lists.get(&l.id[..12]).unwrap().name, l.name);
    assert_eq!(lists.all().unwrap().len(), 1);
    let e = lists.get("other").unwrap_err().to_string();
    assert!(e.contains("manifest list other: not found"), "{e}");
    assert!(lists.remove("mylist").unwrap().is_some());
    assert!(lists.remove("mylist").unwrap().is_none());
    assert!(store.list_images().unwrap().is_empty());
}
