//! The fields `kube play` reads, as a tree per kind; every other field of a document is named
//! in a warning ([`fields`]), so nothing is dropped in silence. The tree is the one list of
//! what berth reads (ARCHITECTURE.md's "kube play" rows say the same in words).

use serde_json::Value;

/// What a field may hold.
pub enum Shape {
    /// Read as a whole (a value, or a map of free keys such as labels or data).
    Any,
    /// An object: the fields read, each with its shape; any other field is warned about.
    Fields(&'static [(&'static str, Shape)]),
    /// A list of one shape.
    Items(&'static Shape),
    /// A flag berth's behaviour already matches when false; true is warned about.
    False,
}

use Shape::{Any, False, Fields, Items};

const META: Shape = Fields(&[
    ("name", Any),
    ("labels", Any),
    ("annotations", Any),
    ("creationTimestamp", Any),
]);

const KEY_TO_PATH: Shape = Items(&Fields(&[("key", Any), ("path", Any)]));

const VOLUME: Shape = Fields(&[
    ("name", Any),
    ("hostPath", Fields(&[("path", Any), ("type", Any)])),
    ("emptyDir", Fields(&[])),
    (
        "configMap",
        Fields(&[("name", Any), ("items", KEY_TO_PATH), ("optional", Any)]),
    ),
    (
        "secret",
        Fields(&[
            ("secretName", Any),
            ("items", KEY_TO_PATH),
            ("optional", Any),
        ]),
    ),
    (
        "persistentVolumeClaim",
        Fields(&[("claimName", Any), ("readOnly", Any)]),
    ),
]);

const KEY_REF: Shape = Fields(&[("name", Any), ("key", Any), ("optional", Any)]);
const NAME_REF: Shape = Fields(&[("name", Any), ("optional", Any)]);

const CONTAINER: Shape = Fields(&[
    ("name", Any),
    ("image", Any),
    ("imagePullPolicy", Any),
    ("command", Any),
    ("args", Any),
    ("workingDir", Any),
    (
        "env",
        Items(&Fields(&[
            ("name", Any),
            ("value", Any),
            (
                "valueFrom",
                Fields(&[("configMapKeyRef", KEY_REF), ("secretKeyRef", KEY_REF)]),
            ),
        ])),
    ),
    (
        "envFrom",
        Items(&Fields(&[
            ("prefix", Any),
            ("configMapRef", NAME_REF),
            ("secretRef", NAME_REF),
        ])),
    ),
    (
        "ports",
        Items(&Fields(&[
            ("name", Any),
            ("containerPort", Any),
            ("hostPort", Any),
            ("hostIP", Any),
            ("protocol", Any),
        ])),
    ),
    (
        "resources",
        Fields(&[("limits", Fields(&[("memory", Any), ("cpu", Any)]))]),
    ),
    (
        "securityContext",
        Fields(&[
            ("runAsUser", Any),
            ("runAsGroup", Any),
            ("privileged", Any),
            ("readOnlyRootFilesystem", Any),
            ("allowPrivilegeEscalation", Any),
            ("capabilities", Fields(&[("add", Any), ("drop", Any)])),
        ]),
    ),
    (
        "livenessProbe",
        Fields(&[
            ("exec", Fields(&[("command", Any)])),
            (
                "httpGet",
                Fields(&[("path", Any), ("port", Any), ("host", Any), ("scheme", Any)]),
            ),
            ("tcpSocket", Fields(&[("port", Any), ("host", Any)])),
            ("initialDelaySeconds", Any),
            ("periodSeconds", Any),
            ("timeoutSeconds", Any),
            ("failureThreshold", Any),
        ]),
    ),
    (
        "volumeMounts",
        Items(&Fields(&[
            ("name", Any),
            ("mountPath", Any),
            ("readOnly", Any),
        ])),
    ),
    ("tty", Any),
]);

const POD_SPEC: Shape = Fields(&[
    ("containers", Items(&CONTAINER)),
    ("initContainers", Items(&CONTAINER)),
    ("volumes", Items(&VOLUME)),
    ("restartPolicy", Any),
    ("terminationGracePeriodSeconds", Any),
    ("hostname", Any),
    ("hostNetwork", Any),
    (
        "hostAliases",
        Items(&Fields(&[("ip", Any), ("hostnames", Any)])),
    ),
    (
        "dnsConfig",
        Fields(&[
            ("nameservers", Any),
            ("searches", Any),
            ("options", Items(&Fields(&[("name", Any), ("value", Any)]))),
        ]),
    ),
    (
        "securityContext",
        Fields(&[("runAsUser", Any), ("runAsGroup", Any)]),
    ),
    ("enableServiceLinks", False),
    ("automountServiceAccountToken", False),
]);

const TEMPLATE: Shape = Fields(&[("metadata", META), ("spec", POD_SPEC)]);

pub const POD: Shape = Fields(&[
    ("apiVersion", Any),
    ("kind", Any),
    ("metadata", META),
    ("spec", POD_SPEC),
    ("status", Any),
]);

pub const DEPLOYMENT: Shape = Fields(&[
    ("apiVersion", Any),
    ("kind", Any),
    ("metadata", META),
    (
        "spec",
        Fields(&[("replicas", Any), ("selector", Any), ("template", TEMPLATE)]),
    ),
    ("status", Any),
]);

pub const DAEMON_SET: Shape = Fields(&[
    ("apiVersion", Any),
    ("kind", Any),
    ("metadata", META),
    ("spec", Fields(&[("selector", Any), ("template", TEMPLATE)])),
    ("status", Any),
]);

pub const CONFIG_MAP: Shape = Fields(&[
    ("apiVersion", Any),
    ("kind", Any),
    ("metadata", META),
    ("data", Any),
    ("immutable", Any),
]);

pub const SECRET: Shape = Fields(&[
    ("apiVersion", Any),
    ("kind", Any),
    ("metadata", META),
    ("data", Any),
    ("stringData", Any),
    ("type", Any),
    ("immutable", Any),
]);

pub const CLAIM: Shape = Fields(&[
    ("apiVersion", Any),
    ("kind", Any),
    ("metadata", META),
    ("spec", Fields(&[("accessModes", Any)])),
    ("status", Any),
]);

/// The paths (`spec.containers[0].lifecycle`) of the fields of `value` that `shape` does not
/// read.
pub fn fields(value: &Value, shape: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, shape, "", &mut out);
    out
}

fn walk(value: &Value, shape: &Shape, path: &str, out: &mut Vec<String>) {
    match (shape, value) {
        (Any, _) => {}
        (False, v) if v.as_bool() != Some(false) => out.push(path.to_string()),
        (False, _) => {}
        (Fields(known), Value::Object(map)) => {
            for (key, v) in map {
                let sub = match path {
                    "" => key.clone(),
                    p => format!("{p}.{key}"),
                };
                match known.iter().find(|(k, _)| k == key) {
                    Some((_, s)) => walk(v, s, &sub, out),
                    None if v.is_null() => {}
                    None => out.push(sub),
                }
            }
        }
        (Items(item), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, item, &format!("{path}[{i}]"), out);
            }
        }
        // A wrong type: k8s-openapi's typed read reports it.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unread_field_is_named_once() {
        let v: Value = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "enableServiceLinks": false,
                "automountServiceAccountToken": true,
                "containers": [
                    {"name": "a", "image": "i", "readinessProbe": {}},
                    {"name": "b", "image": "i", "resources": {"requests": {"cpu": "1"}},
                     "securityContext": {"seLinuxOptions": {}}}
                ],
                "nodeSelector": {"x": "y"}
            }
        });
        let mut got = fields(&v, &POD);
        got.sort();
        assert_eq!(
            got,
            [
                "metadata.namespace",
                "spec.automountServiceAccountToken",
                "spec.containers[0].readinessProbe",
                "spec.containers[1].resources.requests",
                "spec.containers[1].securityContext.seLinuxOptions",
                "spec.nodeSelector",
            ]
        );
    }
}
