//! Top-level `inspect` (containers, images and volumes by name, `--type`, Podman's error for
//! a name found nowhere), `container inspect`'s Podman fields, and `--format` templates.

use serde_json::Value;

use crate::run::busybox;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn top_level_inspect_finds_containers_images_and_volumes() {
    let r = busybox();
    r.ok(&["run", "-d", "--name", "up1", "busybox", "sleep", "1000"]);
    let v = json(&r.ok(&["inspect", "up1"]));
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["Name"], "up1");
    assert_eq!(v[0]["State"]["Status"], "running");

    // A container named as an image: the container wins, unless --type image.
    r.ok(&["create", "--name", "busybox", "busybox", "true"]);
    let v = json(&r.ok(&["inspect", "busybox"]));
    assert_eq!(v[0]["Name"], "busybox", "{v}");
    let v = json(&r.ok(&["inspect", "--type", "image", "busybox"]));
    assert!(
        v[0]["RepoTags"][0].as_str().unwrap().contains("busybox"),
        "{v}"
    );
    assert!(v[0].get("State").is_none(), "{v}");
    let image_id = r.ok(&["inspect", "-t", "image", "--format", "{{.Id}}", "busybox"]);
    let image_id = image_id.trim();
    assert_eq!(image_id.len(), 64, "{image_id}");

    r.ok(&["volume", "create", "vol1"]);
    let v = json(&r.ok(&["inspect", "vol1"]));
    assert_eq!(v[0]["Name"], "vol1");
    assert!(
        v[0]["Mountpoint"]
            .as_str()
            .unwrap()
            .ends_with("/vol1/_data"),
        "{v}"
    );
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Labels"], serde_json::json!({}));

    // Several names of different kinds, each in its own shape.
    let v = json(&r.ok(&["inspect", "vol1", "up1", &image_id[..12]]));
    assert_eq!(v[0]["Name"], "vol1");
    assert_eq!(v[1]["Name"], "up1");
    assert_eq!(v[2]["Id"], image_id);

    // A name found nowhere: Podman's words and exit code, after what was found.
    let (code, out, err) = r.code(&["inspect", "up1", "nosuch"]);
    assert_eq!(code, Some(125), "{err}");
    assert_eq!(
        err.trim(),
        "Error: inspecting object: no such object: \"nosuch\""
    );
    assert_eq!(json(&out)[0]["Name"], "up1");
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "inspect",
            "-t",
            "image",
            "up1",
        ],
        125,
    );
    assert!(err.contains("up1: image not known"), "{err}");
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "inspect",
            "-t",
            "volume",
            "up1",
        ],
        125,
    );
    assert!(err.contains("no such volume up1"), "{err}");
}

#[test]
fn container_inspect_has_podmans_fields_and_format() {
    let r = busybox();
    let host_dir = r.env.path("hostdir");
    std::fs::create_dir(&host_dir).unwrap();
    let bind = format!("{}:/h:ro", host_dir.display());
    r.ok(&[
        "run",
        "-d",
        "--network",
        "host",
        "-e",
        "A=1",
        "-v",
        "vol2:/data",
        "-v",
        &bind,
        "--read-only",
        "-u",
        "1000",
        "--name",
        "x1",
        "busybox",
        "sleep",
        "1000",
    ]);
    for args in [&["inspect", "x1"][..], &["container", "inspect", "x1"]] {
        let v = json(&r.ok(args));
        let c = &v[0];
        let config = &c["Config"];
        assert!(
            config["Env"].as_array().unwrap().contains(&"A=1".into()),
            "{c}"
        );
        assert_eq!(config["User"], "1000");
        assert_eq!(config["Cmd"], serde_json::json!(["sleep", "1000"]));
        assert_eq!(config["Entrypoint"], "");
        assert_eq!(config["Image"], c["ImageName"]);
        assert_eq!(config["WorkingDir"], "/");
        assert_eq!(config["StopSignal"], 15);
        assert_eq!(config["Tty"], false);
        assert_eq!(config["OpenStdin"], false);
        // On the host's network the container has the host's name, as in Podman 4.3.
        let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(config["Hostname"], host_name.trim());
        assert!(config["Annotations"].is_object(), "{config}");
        let host = &c["HostConfig"];
        assert_eq!(host["ReadonlyRootfs"], true);
        let binds = serde_json::json!([
            "vol2:/data:rw,rprivate,rbind",
            format!("{}:/h:ro,rprivate,rbind", host_dir.display())
        ]);
        assert_eq!(host["Binds"], binds);
        assert_eq!(host["NetworkMode"], "host");
        assert_eq!(host["PortBindings"], serde_json::json!({}));
        assert_eq!(host["RestartPolicy"]["Name"], "");
        assert_eq!(host["Privileged"], false);
        assert_eq!(host["AutoRemove"], false);
        assert_eq!(host["Memory"], 0);
        let m = &c["Mounts"][0];
        assert_eq!(m["Type"], "volume");
        assert_eq!(m["Name"], "vol2");
        assert_eq!(m["Destination"], "/data");
        assert_eq!(m["Driver"], "local");
        assert_eq!(m["RW"], true);
        assert_eq!(m["Propagation"], "rprivate");
        assert!(
            m["Source"].as_str().unwrap().ends_with("/vol2/_data"),
            "{m}"
        );
        assert_eq!(m["Options"], serde_json::json!(["rbind"]));
        let b = &c["Mounts"][1];
        assert_eq!(b["Type"], "bind");
        assert_eq!(b["Name"], "");
        assert_eq!(b["Source"], host_dir.to_str().unwrap());
        assert_eq!(b["Destination"], "/h");
        assert_eq!(b["RW"], false);
        assert_eq!(c["NetworkSettings"]["IPAddress"], "");
        assert_eq!(c["NetworkSettings"]["Ports"], serde_json::json!({}));
        // No health check: Podman 4.3's empty record.
        assert_eq!(c["State"]["Health"]["Status"], "");
        assert_eq!(c["State"]["Running"], true);
    }
    for cmd in [&["inspect"][..], &["container", "inspect"]] {
        let mut args = cmd.to_vec();
        args.extend(["--format", "{{.State.Status}} {{.Config.User}}", "x1"]);
        assert_eq!(r.ok(&args), "running 1000\n");
    }
    let out = r.ok(&[
        "inspect",
        "--format",
        "{{.Name}} {{json .Config.Cmd}}",
        "x1",
    ]);
    assert_eq!(out, "x1 [\"sleep\",\"1000\"]\n");
    let out = r.ok(&["inspect", "--format", "{{.Config.Env}}", "x1"]);
    assert!(out.starts_with('[') && out.contains(" A=1"), "{out}");
    let out = r.ok(&["inspect", "--format", "{{json .Config}}", "x1"]);
    assert_eq!(json(&out)["User"], "1000");
    let out = r.ok(&["image", "inspect", "--format", "{{.Id}}", "busybox"]);
    assert_eq!(out.trim().len(), 64, "{out}");
    let err = r.env.fails(
        &[
            "--runroot",
            r.runroot.to_str().unwrap(),
            "inspect",
            "--format",
            "{{.Nope}}",
            "x1",
        ],
        125,
    );
    assert!(err.contains("can't evaluate field Nope"), "{err}");
}
