//! Pods and shared namespaces over records (no runtime runs): removal refused while another
//! container shares a namespace, the infra container removed only with its pod, `pod rm`
//! in order, a pod's state from its containers.

use std::sync::Arc;

use berth_image_store::Store;
use chrono::Utc;

use super::Engine;
use crate::container::NewContainer;
use crate::error::RunError;
use crate::options::{NamespaceMode, RunOptions};
use crate::pod::{Pod, PodConfig, PodState, SharedNamespace};
use crate::runtime::fake::{Behaviour, FakeRuntime};

fn insert(engine: &Engine<'_>, id: &str, options: &RunOptions) {
    engine
        .records()
        .insert(&NewContainer {
            id,
            name: &format!("name-{id}"),
            image_id: None,
            image_name: "busybox",
            command: &[],
            options,
            spec: &oci_spec::runtime::Spec::default(),
            runtime: "fake",
            auto_remove: false,
            labels: &[],
        })
        .unwrap();
}

#[test]
fn shared_containers_and_infra_are_removed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let engine = Engine::new(&store, &dir.path().join("run"))
        .unwrap()
        .with_runtime(Arc::new(FakeRuntime::new(Behaviour::default())));

    // --ipc container:holder
    insert(&engine, "holder", &RunOptions::default());
    let mut sharing = RunOptions::default();
    sharing.namespaces.ipc = Some(NamespaceMode::Container("holder".into()));
    insert(&engine, "sharer", &sharing);
    let holder = engine.get("holder").unwrap();
    let err = engine.remove(&holder, true).unwrap_err();
    assert!(matches!(err, RunError::HasDependents { .. }), "{err}");
    assert!(err.to_string().contains("dependent containers"), "{err}");
    engine
        .remove(&engine.get("sharer").unwrap(), false)
        .unwrap();
    engine.remove(&holder, false).unwrap();

    // A pod: its infra container and a member sharing its network.
    let pod = Pod {
        id: "p".repeat(64),
        name: "pod".into(),
        created: Utc::now(),
        config: PodConfig {
            hostname: "pod".into(),
            infra_id: Some("infra".into()),
            share: SharedNamespace::DEFAULT.to_vec(),
            ..PodConfig::default()
        },
    };
    engine.pod_records().unwrap().insert(&pod).unwrap();
    let in_pod = RunOptions {
        pod: Some(pod.id.clone()),
        ..RunOptions::default()
    };
    insert(&engine, "infra", &in_pod);
    let member = RunOptions {
        network: crate::options::Network::Container("infra".into()),
        ..in_pod.clone()
    };
    insert(&engine, "member", &member);
    let containers = engine.pod_containers(&pod).unwrap();
    assert_eq!(containers[0].id, "infra", "infra first");
    assert_eq!(engine.pod_state(&containers), PodState::Created);
    let err = engine
        .remove(&engine.get("infra").unwrap(), true)
        .unwrap_err();
    assert!(matches!(err, RunError::InfraContainer { .. }), "{err}");
    // Prune keeps the infra container (it goes with its pod).
    assert_eq!(engine.prune_stopped().unwrap(), ["member"]);
    engine.remove_pod(&pod, false).unwrap();
    assert!(engine.list().unwrap().is_empty());
    assert!(matches!(engine.pod(&pod.name), Err(RunError::NoSuchPod(_))));
}
