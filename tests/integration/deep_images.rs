//! Images many layers deep: loaded from a docker-archive written here (busybox under `n`
//! one-file layers), then run, as a user with a deep image pulled from a registry would.

use std::fs;

use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::archives::write_tar;
use crate::util::TestEnv;

/// Write a docker-archive of `name`: busybox with `layers` (tar streams) on top, and
/// `WorkingDir` `workdir`; load it into `env`.
pub(crate) fn load_image(env: &TestEnv, name: &str, layers: &[Vec<u8>], workdir: &str) {
    let archive = docker_archive(env, name, layers, workdir);
    env.ok(&["load", "-i", archive.to_str().unwrap()]);
    fs::remove_file(&archive).unwrap();
}

/// The docker-archive [`load_image`] loads, written under `env`'s dir; returns its path.
pub(crate) fn docker_archive(
    env: &TestEnv,
    name: &str,
    layers: &[Vec<u8>],
    workdir: &str,
) -> std::path::PathBuf {
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names = Vec::new();
    let mut diff_ids = Vec::new();
    let busybox = fs::read(env.busybox_tar()).unwrap();
    for blob in std::iter::once(&busybox).chain(layers) {
        let hex = hex::encode(Sha256::digest(blob));
        let member = format!("{hex}.tar");
        if !members.iter().any(|(n, _)| *n == member) {
            members.push((member.clone(), blob.clone()));
        }
        names.push(member);
        diff_ids.push(format!("sha256:{hex}"));
    }
    let history: Vec<_> = names
        .iter()
        .map(|n| json!({ "created_by": format!("layer {n}") }))
        .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["sh"], "WorkingDir": workdir },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": history,
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_member = format!("{}.json", hex::encode(Sha256::digest(&config)));
    members.push((config_member.clone(), config));
    let manifest = json!([{
        "Config": config_member,
        "RepoTags": [format!("{name}:latest")],
        "Layers": names,
    }]);
    members.push((
        "manifest.json".to_string(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    let archive = env.path(&format!("{name}.tar"));
    write_tar(&archive, &members);
    archive
}

/// Busybox under `depth - 1` one-file layers, the `i`th adding `/f<i>`.
fn load_deep(env: &TestEnv, name: &str, depth: usize) {
    let layers: Vec<Vec<u8>> = (1..depth)
        .map(|i| {
            let layer = env.path("layer.tar");
            write_tar(&layer, &[(format!("f{i}"), i.to_string().into_bytes())]);
            fs::read(&layer).unwrap()
        })
        .collect();
    load_image(env, name, &layers, "/");
}

#[test]
fn images_127_and_500_layers_deep_run_and_501_is_refused_clearly() {
    let env = TestEnv::new();
    for depth in [127, 500] {
        let name = format!("deep{depth}");
        load_deep(&env, &name, depth);
        let top = format!("/f{}", depth - 1);
        // Every layer is visible: the first one over busybox, and the top one.
        let out = env.ok(&["run", "--rm", &name, "cat", "/f1", &top]);
        assert_eq!(out, format!("1{}", depth - 1), "{depth} layers");
        let mnt = env.ok(&["image", "mount", &name]);
        assert!(fs::read_dir(mnt.trim()).unwrap().count() > depth);
        env.ok(&["image", "unmount", &name]);
    }
    load_deep(&env, "deep501", 501);
    let err = env.fails(&["run", "--rm", "deep501", "true"], 125);
    assert!(
        err.contains("501 layers is deeper than the kernel's limit of 500"),
        "{err}"
    );
    assert_eq!(env.ok(&["ps", "-aq"]).trim(), "", "nothing is left behind");
    env.assert_check_clean();
}
