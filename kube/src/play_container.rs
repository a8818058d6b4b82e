//! One container of a pod spec to the library's [`CreateRequest`] (as `berth create --pod`
//! would make it), as Podman 4.3's `kube.ToSpecGen` reads the fields: the name
//! `<pod>-<container>`, `command` as the entrypoint (the image's cmd dropped) and `args` as the
//! cmd, `workingDir`, `env`/`envFrom` (values, ConfigMap keys, Secret keys through berth's
//! secret store: the value never enters the record), `resources.limits`, `securityContext`,
//! an exec `livenessProbe` as the health check (restarting the container when the pod's
//! restart policy restarts), the pod's `restartPolicy`, and the volume mounts.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use berth_run::health::{HealthConfig, OnFailure};
use berth_run::options::{VolumeOption, VolumeSource, VolumeSpec};
use berth_run::restart_policy::RestartPolicy;
use berth_run::secrets::usage::{SecretKind, SecretUse};
use berth_run::{CreateRequest, RunOptions};
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSecurityContext, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::play_volumes::{secret_name, PodVolume};
use crate::quantity;

/// What every container of one pod shares.
pub struct PodContext<'a> {
    pub pod_name: &'a str,
    pub pod_id: &'a str,
    pub restart: RestartPolicy,
    pub security: Option<&'a PodSecurityContext>,
    pub config_maps: &'a [ConfigMap],
    /// The pod's volumes by name.
    pub volumes: &'a BTreeMap<String, PodVolume>,
    /// The keys of each Secret berth knows (this file's, and those in its store).
    pub secrets: &'a BTreeMap<String, Vec<String>>,
    pub labels: Vec<(String, String)>,
    /// The pod's `metadata.annotations`, each container's (as Podman 4.3).
    pub annotations: Vec<(String, String)>,
    /// What every container starts from (the front end's defaults: `PlayOptions::defaults`).
    pub defaults: &'a RunOptions,
}

/// The request for container `c` (`image` as the front end resolved it). An init container
/// never restarts.
pub fn request(
    ctx: &PodContext<'_>,
    c: &Container,
    image: String,
    init: bool,
) -> Result<CreateRequest> {
    let name = format!("{}-{}", ctx.pod_name, c.name);
    let mut options = RunOptions {
        entrypoint: c.command.clone().filter(|c| !c.is_empty()),
        command: c.args.clone().unwrap_or_default(),
        workdir: c.working_dir.clone().filter(|w| !w.is_empty()),
        terminal: c.tty.unwrap_or(false),
        read_only_tmpfs: true,
        pod: Some(ctx.pod_id.to_string()),
        restart: if init { RestartPolicy::No } else { ctx.restart },
        annotations: ctx.annotations.clone(),
        network: berth_run::options::Network::default_for_user(),
        ..ctx.defaults.clone()
    };
    env(ctx, c, &mut options)?;
    security(ctx, c, &mut options);
    if let Some(limits) = c.resources.as_ref().and_then(|r| r.limits.as_ref()) {
        if let Some(m) = limits.get("memory") {
            options.memory = Some(quantity::bytes(&m.0)?);
        }
        if let Some(cpu) = limits.get("cpu") {
            options.cpus = Some(quantity::parse(&cpu.0)?);
        }
    }
    if let Some(probe) = &c.liveness_probe {
        if init {
            bail!("cannot create an init container that has either of lifecycle, livenessProbe, readinessProbe, or startupProbe set");
        }
        options.healthcheck = Some(health(probe, c)?);
        if ctx.restart != RestartPolicy::No {
            options.health_on_failure = OnFailure::Restart;
        }
    }
    mounts(ctx, c, &mut options)?;
    Ok(CreateRequest {
        image,
        name: Some(name),
        options,
        runtime: None,
        keep_mounted: false,
        auto_remove: false,
        labels: ctx.labels.clone(),
    })
}

fn config_map<'a>(ctx: &'a PodContext<'_>, name: &str) -> Option<&'a ConfigMap> {
    ctx.config_maps
        .iter()
        .find(|cm| cm.metadata.name.as_deref() == Some(name))
}

fn secret_env(target: &str, secret: &str, key: &str) -> SecretUse {
    SecretUse {
        name: secret_name(secret, key),
        id: String::new(),
        kind: SecretKind::Env,
        target: target.to_string(),
        uid: 0,
        gid: 0,
        mode: 0o444,
    }
}

/// `envFrom` first, then `env` (later entries win, as in Kubernetes).
fn env(ctx: &PodContext<'_>, c: &Container, options: &mut RunOptions) -> Result<()> {
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        if let Some(r) = &from.config_map_ref {
            match config_map(ctx, &r.name) {
                Some(cm) => {
                    for (k, v) in cm.data.iter().flatten() {
                        options.env.push(format!("{prefix}{k}={v}"));
                    }
                }
                None if r.optional == Some(true) => {}
                None => bail!("configmap {} not found", r.name),
            }
        }
        if let Some(r) = &from.secret_ref {
            match ctx.secrets.get(&r.name) {
                Some(keys) => {
                    for k in keys {
                        let target = format!("{prefix}{k}");
                        options.secrets.push(secret_env(&target, &r.name, k));
                    }
                }
                None if r.optional == Some(true) => {}
                None => bail!("secret {} not found", r.name),
            }
        }
    }
    for e in c.env.iter().flatten() {
        let Some(from) = &e.value_from else {
            options
                .env
                .push(format!("{}={}", e.name, e.value.as_deref().unwrap_or("")));
            continue;
        };
        if let Some(r) = &from.config_map_key_ref {
            let value = config_map(ctx, &r.name)
                .ok_or_else(|| anyhow!("cannot set env {}: configmap {} not found", e.name, r.name))
                .and_then(|cm| {
                    cm.data.as_ref().and_then(|d| d.get(&r.key)).ok_or_else(|| {
                        anyhow!(
                            "cannot set env {}: key {} not found in configmap {}",
                            e.name,
                            r.key,
                            r.name
                        )
                    })
                });
            match value {
                Ok(v) => options.env.push(format!("{}={v}", e.name)),
                Err(_) if r.optional == Some(true) => {}
                Err(err) => return Err(err),
            }
        } else if let Some(r) = &from.secret_key_ref {
            let known = ctx.secrets.get(&r.name).is_some_and(|k| k.contains(&r.key));
            match known {
                true => options.secrets.push(secret_env(&e.name, &r.name, &r.key)),
                false if r.optional == Some(true) => {}
                false => bail!(
                    "cannot set env {}: key {} not found in secret {}",
                    e.name,
                    r.key,
                    r.name
                ),
            }
        }
    }
    Ok(())
}

/// The container's `securityContext` over the pod's.
fn security(ctx: &PodContext<'_>, c: &Container, options: &mut RunOptions) {
    let sc = c.security_context.as_ref();
    let user = sc
        .and_then(|s| s.run_as_user)
        .or(ctx.security.and_then(|s| s.run_as_user));
    let group = sc
        .and_then(|s| s.run_as_group)
        .or(ctx.security.and_then(|s| s.run_as_group));
    options.user = match (user, group) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        // A group alone: the image's user (uid 0 when it names none) with that group.
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    let Some(sc) = sc else { return };
    if let Some(caps) = &sc.capabilities {
        options.cap_add = caps.add.clone().unwrap_or_default();
        options.cap_drop = caps.drop.clone().unwrap_or_default();
    }
    options.privileged = sc.privileged.unwrap_or(false);
    options.read_only = sc.read_only_root_filesystem.unwrap_or(false);
    options.no_new_privileges = sc.allow_privilege_escalation == Some(false);
}

/// A liveness probe as a health check (Kubernetes' defaults: every 10 s, 1 s timeout, 3
/// tries): exec as `["CMD", …]`; httpGet and tcpSocket as Podman 4.3 turns them into
/// commands the image must have (`curl -f URL || exit 1`, `nc -z -v HOST PORT || exit 1`).
fn health(probe: &Probe, c: &Container) -> Result<HealthConfig> {
    let test = if let Some(exec) = &probe.exec {
        let command = exec.command.clone().unwrap_or_default();
        if command.is_empty() {
            bail!("livenessProbe: exec has no command");
        }
        let mut test = vec!["CMD".to_string()];
        test.extend(command);
        test
    } else if let Some(get) = &probe.http_get {
        let scheme = get.scheme.as_deref().unwrap_or("http").to_lowercase();
        let host = get.host.as_deref().unwrap_or("localhost");
        let port = probe_port(&get.port, c)?;
        let path = get.path.as_deref().unwrap_or("/");
        let url = format!("{scheme}://{host}:{port}{path}");
        vec![
            "CMD-SHELL".to_string(),
            format!("curl -f {} || exit 1", shell_quote(&url)),
        ]
    } else if let Some(tcp) = &probe.tcp_socket {
        let host = tcp.host.as_deref().unwrap_or("localhost");
        let port = probe_port(&tcp.port, c)?;
        vec![
            "CMD-SHELL".to_string(),
            format!("nc -z -v {} {port} || exit 1", shell_quote(host)),
        ]
    } else {
        bail!("livenessProbe: berth runs exec, httpGet and tcpSocket probes (not grpc)");
    };
    let secs = |v: Option<i32>, default: u64| {
        std::time::Duration::from_secs(v.map_or(default, |s| s.max(0) as u64))
    };
    Ok(HealthConfig {
        test,
        start_period: secs(probe.initial_delay_seconds, 0),
        interval: secs(probe.period_seconds, 10),
        timeout: secs(probe.timeout_seconds, 1),
        retries: probe.failure_threshold.map_or(3, |f| f.max(1) as u32),
    })
}

/// A probe's port: a number, or the name of one of the container's ports.
fn probe_port(port: &IntOrString, c: &Container) -> Result<u16> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => c
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| anyhow!("livenessProbe: no container port named {name:?}"))?,
        },
    };
    u16::try_from(number)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow!("livenessProbe: port {number} out of range"))
}

/// `s` as one word for `sh -c`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The container's `volumeMounts` over the pod's volumes.
fn mounts(ctx: &PodContext<'_>, c: &Container, options: &mut RunOptions) -> Result<()> {
    for m in c.volume_mounts.iter().flatten() {
        let volume = ctx.volumes.get(&m.name).ok_or_else(|| {
            anyhow!(
                "container {}: volumeMount {:?} names no volume of the pod",
                c.name,
                m.name
            )
        })?;
        let read_only = m.read_only.unwrap_or(false);
        let source = match volume {
            PodVolume::Host(path) => VolumeSource::Host(path.clone()),
            PodVolume::Named {
                name,
                read_only: ro,
            } => {
                let mut spec = VolumeSpec::bind(std::path::PathBuf::new(), &m.mount_path)?;
                spec.source = VolumeSource::Named(name.clone());
                if read_only || *ro {
                    spec.options.push(VolumeOption::ReadOnly);
                }
                options.volumes.push(spec);
                continue;
            }
            PodVolume::Secret { secret, items } => {
                for (key, path) in items {
                    options.secrets.push(SecretUse {
                        name: secret_name(secret, key),
                        id: String::new(),
                        kind: SecretKind::Mount,
                        target: format!("{}/{path}", m.mount_path.trim_end_matches('/')),
                        uid: 0,
                        gid: 0,
                        mode: 0o444,
                    });
                }
                continue;
            }
            PodVolume::Absent => continue,
        };
        let mut spec = VolumeSpec::bind(std::path::PathBuf::new(), &m.mount_path)?;
        spec.source = source;
        if read_only {
            spec.options.push(VolumeOption::ReadOnly);
        }
        options.volumes.push(spec);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn container(yaml: &str) -> Container {
        serde_norway::from_str(yaml).unwrap()
    }

    fn config_maps() -> Vec<ConfigMap> {
        vec![serde_norway::from_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {A: a, B: b}\n",
        )
        .unwrap()]
    }

    fn with_ctx<T>(f: impl FnOnce(&PodContext<'_>) -> T) -> T {
        let cms = config_maps();
        let volumes = BTreeMap::from([
            (
                "data".to_string(),
                PodVolume::Named {
                    name: "claim".to_string(),
                    read_only: false,
                },
            ),
            (
                "sec".to_string(),
                PodVolume::Secret {
                    secret: "s".to_string(),
                    items: vec![("k".to_string(), "k".to_string())],
                },
            ),
        ]);
        let secrets = BTreeMap::from([("s".to_string(), vec!["k".to_string()])]);
        let defaults = RunOptions::default();
        let pod: Pod = serde_norway::from_str(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n  securityContext: {runAsUser: 7}\n",
        )
        .unwrap();
        let ctx = PodContext {
            pod_name: "p",
            pod_id: "pod-id",
            restart: RestartPolicy::Always,
            security: pod.spec.as_ref().and_then(|s| s.security_context.as_ref()),
            config_maps: &cms,
            volumes: &volumes,
            secrets: &secrets,
            labels: vec![("app".to_string(), "x".to_string())],
            annotations: Vec::new(),
            defaults: &defaults,
        };
        f(&ctx)
    }

    #[test]
    fn a_container_becomes_the_request_create_would_make() {
        let c = container(
            "name: web\nimage: i\ncommand: [httpd]\nargs: [-f]\nworkingDir: /w\n\
             envFrom: [{configMapRef: {name: cm}, prefix: P_}]\n\
             env:\n- {name: A, value: mine}\n- {name: FROM, valueFrom: {configMapKeyRef: {name: cm, key: B}}}\n\
             - {name: PW, valueFrom: {secretKeyRef: {name: s, key: k}}}\n\
             resources: {limits: {memory: 1Mi, cpu: 250m}}\n\
             securityContext: {runAsGroup: 9, capabilities: {add: [NET_ADMIN]}, allowPrivilegeEscalation: false}\n\
             livenessProbe: {exec: {command: [true]}, periodSeconds: 2}\n\
             volumeMounts: [{name: data, mountPath: /d, readOnly: true}, {name: sec, mountPath: /s/}]\n",
        );
        let req = with_ctx(|ctx| request(ctx, &c, "img".to_string(), false)).unwrap();
        assert_eq!(req.name.as_deref(), Some("p-web"));
        assert_eq!(req.image, "img");
        let o = &req.options;
        assert_eq!(o.pod.as_deref(), Some("pod-id"));
        assert_eq!(o.entrypoint, Some(vec!["httpd".to_string()]));
        assert_eq!(o.command, ["-f"]);
        assert_eq!(o.workdir.as_deref(), Some("/w"));
        assert_eq!(o.env, ["P_A=a", "P_B=b", "A=mine", "FROM=b"]);
        assert_eq!(o.secrets.len(), 2);
        assert_eq!(
            (o.secrets[0].name.as_str(), o.secrets[0].target.as_str()),
            ("s.k", "PW")
        );
        assert_eq!(o.secrets[0].kind, SecretKind::Env);
        assert_eq!(
            (o.secrets[1].kind, o.secrets[1].target.as_str()),
            (SecretKind::Mount, "/s/k")
        );
        assert_eq!(o.memory, Some(1 << 20));
        assert_eq!(o.cpus, Some(0.25));
        assert_eq!(o.user.as_deref(), Some("7:9"));
        assert_eq!(o.cap_add, ["NET_ADMIN"]);
        assert!(o.no_new_privileges);
        assert_eq!(o.restart, RestartPolicy::Always);
        assert_eq!(o.health_on_failure, OnFailure::Restart);
        let hc = o.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test, ["CMD", "true"]);
        assert_eq!(hc.interval, std::time::Duration::from_secs(2));
        assert_eq!(o.volumes.len(), 1);
        assert_eq!(
            o.volumes[0].source,
            VolumeSource::Named("claim".to_string())
        );
        assert!(o.volumes[0].read_only());
        assert_eq!(req.labels, [("app".to_string(), "x".to_string())]);
    }

    #[test]
    fn missing_references_are_refused_unless_optional() {
        let refuse = |yaml: &str| {
            with_ctx(|ctx| request(ctx, &container(yaml), "i".to_string(), false))
                .unwrap_err()
                .to_string()
        };
        let err = refuse(
            "name: c\nenv: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: A}}}]\n",
        );
        assert_eq!(err, "cannot set env X: configmap nope not found");
        let err =
            refuse("name: c\nenv: [{name: X, valueFrom: {configMapKeyRef: {name: cm, key: Z}}}]\n");
        assert_eq!(err, "cannot set env X: key Z not found in configmap cm");
        let err =
            refuse("name: c\nenv: [{name: X, valueFrom: {secretKeyRef: {name: s, key: nope}}}]\n");
        assert!(err.contains("key nope not found in secret s"), "{err}");
        let err = refuse("name: c\nvolumeMounts: [{name: nope, mountPath: /x}]\n");
        assert!(err.contains("names no volume of the pod"), "{err}");
        let err = refuse("name: c\nlivenessProbe: {grpc: {port: 80}}\n");
        assert!(err.contains("not grpc"), "{err}");
        let err = refuse("name: c\nlivenessProbe: {httpGet: {port: web}}\n");
        assert!(err.contains("no container port named \"web\""), "{err}");
        let ok = "name: c\nenv: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: A, optional: true}}}]\n\
                  envFrom: [{secretRef: {name: nope, optional: true}}]\n";
        let req = with_ctx(|ctx| request(ctx, &container(ok), "i".to_string(), false)).unwrap();
        assert!(req.options.env.is_empty() && req.options.secrets.is_empty());
    }

    #[test]
    fn http_and_tcp_probes_are_commands_as_podman_makes_them() {
        let test = |yaml: &str| {
            let req = with_ctx(|ctx| request(ctx, &container(yaml), "i".to_string(), false));
            req.unwrap().options.healthcheck.unwrap().test
        };
        let t = test(
            "name: c\nports: [{name: web, containerPort: 8080}]\n\
             livenessProbe: {httpGet: {port: web, path: \"/it's\", scheme: HTTP}}\n",
        );
        assert_eq!(
            t,
            [
                "CMD-SHELL",
                "curl -f 'http://localhost:8080/it'\\''s' || exit 1"
            ]
        );
        let t = test("name: c\nlivenessProbe: {tcpSocket: {port: 53, host: 127.0.0.1}}\n");
        assert_eq!(t, ["CMD-SHELL", "nc -z -v '127.0.0.1' 53 || exit 1"]);
    }

    #[test]
    fn an_init_container_never_restarts_and_has_no_probe() {
        let c = container("name: init\ncommand: [true]\n");
        let req = with_ctx(|ctx| request(ctx, &c, "i".to_string(), true)).unwrap();
        assert_eq!(req.options.restart, RestartPolicy::No);
        let c = container("name: init\nlivenessProbe: {exec: {command: [true]}}\n");
        assert!(with_ctx(|ctx| request(ctx, &c, "i".to_string(), true)).is_err());
    }
}
