//! Pods' leftovers of issue 17, as root with the real netavark: `pod create --pod-id-file
//! --infra-command --exit-policy`, `pod ps --filter` over Podman 4.3's kinds, `ps --pod`, and pod
//! events
//! (`create`, `start`, `stop`, `remove`) in the one event log.

use crate::pods::Pods;
use crate::run::{busybox, wait_until, RunEnv};
use crate::run_network::{unique, wired};

/// The names `pod ps --filter …` lists.
fn listed(r: &RunEnv, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["pod", "ps", "--format", "{{.Name}}"];
    for f in filters {
        args.extend(["--filter", f]);
    }
    let mut names: Vec<String> = r.ok(&args).lines().map(str::to_string).collect();
    names.sort();
    names
}

#[test]
fn pod_create_flags_filters_and_events() {
    if !wired() {
        return;
    }
    let r = busybox();
    let _pods = Pods(&r);
    let (a, b) = (unique("kgen-a"), unique("kgen-b"));
    let id_file = r.env.path("pod.id");
    let id_a = r
        .ok(&[
            "pod",
            "create",
            "--name",
            &a,
            "--label",
            "team=x",
            "--exit-policy",
            "stop",
            "--infra-command",
            "[\"/catatonit\",\"-P\"]",
            "--pod-id-file",
            id_file.to_str().unwrap(),
        ])
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(&id_file).unwrap(), id_a);
    // The file is never replaced (Podman's words), and no pod is made.
    let (code, _, err) = r.code(&[
        "pod",
        "create",
        "--name",
        &b,
        "--pod-id-file",
        id_file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("pod id file exists"), "{err}");
    assert!(r.code(&["pod", "exists", &b]).0 == Some(1));
    let (code, _, err) = r.code(&["pod", "create", "--exit-policy", "bogus"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("invalid pod exit policy: \"bogus\""), "{err}");
    let policy = r.ok(&["pod", "inspect", "--format", "{{.ExitPolicy}}", &a]);
    assert_eq!(policy.trim(), "stop");

    let id_b = r.ok(&["pod", "create", "--name", &b]).trim().to_string();
    let member = unique("kgen-member");
    r.ok(&["create", "--pod", &b, "--name", &member, "busybox", "true"]);
    let both = {
        let mut v = vec![a.clone(), b.clone()];
        v.sort();
        v
    };
    assert_eq!(listed(&r, &["name=^kgen-"]).len(), 0);
    assert_eq!(listed(&r, &["name=kgen-"]), both);
    assert_eq!(listed(&r, &[&format!("id={}", &id_a[..10])]), [a.as_str()]);
    assert_eq!(listed(&r, &["label=team=x"]), [a.as_str()]);
    assert_eq!(listed(&r, &["ctr-number=2"]), [b.as_str()]);
    assert_eq!(listed(&r, &[&format!("ctr-names={member}")]), [b.as_str()]);
    assert_eq!(
        listed(&r, &["status=created", "ctr-number=1"]),
        [a.as_str()]
    );
    assert_eq!(listed(&r, &["ctr-status=created"]), both);
    assert!(listed(&r, &["ctr-status=running"]).is_empty());
    // `ps --pod`: Podman's POD ID and PODNAME columns.
    let ps = r.ok(&["ps", "-a", "--pod", "--filter", &format!("name={member}")]);
    let header: Vec<&str> = ps
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(header[header.len() - 2..], ["POD ID", "PODNAME"], "{ps}");
    assert!(
        ps.lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!("{}  {b}", &id_b[..12])),
        "{ps}"
    );
    let infra = r.ok(&[
        "ps",
        "-a",
        "--pod",
        "--format",
        "{{.PodName}} {{.IsInfra}}",
        "--filter",
        &format!("name={}-infra", &id_b[..12]),
    ]);
    assert_eq!(infra.trim(), format!("{b} true"));
    let (code, _, err) = r.code(&["pod", "ps", "--filter", "bogus=1"]);
    assert_eq!(code, Some(125), "{err}");
    assert!(err.contains("bogus is an invalid filter"), "{err}");
    let (_, _, err) = r.code(&["pod", "ps", "--filter", "status=bogus"]);
    assert!(err.contains("bogus is not a valid pod status"), "{err}");

    // --exit-policy stop: the pod stops once its last member has exited.
    r.ok(&["run", "-d", "--pod", &a, "busybox", "true"]);
    wait_until("the pod with --exit-policy stop to exit", || {
        listed(&r, &["status=exited", &format!("id={id_a}")]) == [a.as_str()]
    });
    // --exit-policy continue (the default): the infra container keeps running.
    r.ok(&["pod", "start", &b]);
    wait_until("the member of the default pod to exit", || {
        listed(&r, &["status=degraded"]) == [b.as_str()]
    });
    r.ok(&["pod", "stop", "-t", "0", &b]);
    r.ok(&["pod", "rm", &b]);

    let events = r.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=pod",
        "--filter",
        &format!("pod={b}"),
    ]);
    let statuses: Vec<&str> = events
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap_or_default())
        .collect();
    assert_eq!(statuses, ["create", "start", "stop", "remove"], "{events}");
    assert!(
        events.contains(&format!("pod create {id_b} (image=, name={b})")),
        "{events}"
    );
}
