//! Config fields the OCI image spec (and `oci_spec`'s types) lack but Docker's config has:
//! `Healthcheck`, `OnBuild` and `Shell`, kept under `config` in both formats (Podman drops
//! them in OCI format; consumers ignore fields they do not know). They ride next to the typed config as
//! JSON and are merged in when the config is written.

use serde_json::{json, Map, Value};

use crate::ast::CommandForm;

/// The extra `config` fields of an image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras(pub Map<String, Value>);

impl Extras {
    /// The extras in a config blob's JSON (`config.Healthcheck`, `config.OnBuild`).
    pub fn from_config_json(bytes: &[u8]) -> Extras {
        let mut out = Map::new();
        if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
            for key in ["Healthcheck", "OnBuild", "Shell"] {
                if let Some(x) = v.get("config").and_then(|c| c.get(key)) {
                    if !x.is_null() {
                        out.insert(key.to_string(), x.clone());
                    }
                }
            }
        }
        Extras(out)
    }

    /// Merge into a serialized config's `config` object.
    pub fn merge_into(&self, config: &mut Value) {
        if self.0.is_empty() {
            return;
        }
        if let Some(obj) = config.as_object_mut() {
            let inner = obj.entry("config").or_insert_with(|| json!({}));
            if let Some(inner) = inner.as_object_mut() {
                for (k, v) in &self.0 {
                    inner.insert(k.clone(), v.clone());
                }
            }
        }
    }

    /// The ONBUILD triggers (instruction texts).
    pub fn onbuild(&self) -> Vec<String> {
        self.0
            .get("OnBuild")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The SHELL a base image set (`None`: the default `/bin/sh -c`).
    pub fn shell(&self) -> Option<Vec<String>> {
        let a = self.0.get("Shell")?.as_array()?;
        let shell: Vec<String> = a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        (!shell.is_empty() && shell.len() == a.len()).then_some(shell)
    }

    pub fn set_shell(&mut self, shell: &[String]) {
        self.0.insert("Shell".into(), json!(shell));
    }

    pub fn set_onbuild(&mut self, triggers: Vec<String>) {
        if triggers.is_empty() {
            self.0.remove("OnBuild");
        } else {
            self.0.insert("OnBuild".into(), json!(triggers));
        }
    }

    /// `HEALTHCHECK NONE` (`form` None) or `HEALTHCHECK [flags] CMD …`.
    pub fn set_healthcheck(
        &mut self,
        form: Option<&CommandForm>,
        flags: &[(String, String)],
    ) -> Result<(), String> {
        let test: Vec<String> = match form {
            None => vec!["NONE".into()],
            Some(CommandForm::Exec(v)) => std::iter::once("CMD".to_string())
                .chain(v.iter().cloned())
                .collect(),
            Some(CommandForm::Shell(s)) => vec!["CMD-SHELL".into(), s.clone()],
        };
        let mut hc = Map::new();
        hc.insert("Test".into(), json!(test));
        for (name, value) in flags {
            let (key, v) = match name.as_str() {
                "interval" => ("Interval", json!(duration_ns(value)?)),
                "timeout" => ("Timeout", json!(duration_ns(value)?)),
                "start-period" => ("StartPeriod", json!(duration_ns(value)?)),
                "start-interval" => ("StartInterval", json!(duration_ns(value)?)),
                "retries" => (
                    "Retries",
                    json!(value
                        .parse::<u32>()
                        .map_err(|_| format!("--retries={value}: not a number"))?),
                ),
                other => return Err(format!("HEALTHCHECK: unknown flag --{other}")),
            };
            hc.insert(key.into(), v);
        }
        self.0.insert("Healthcheck".into(), Value::Object(hc));
        Ok(())
    }
}

/// A Go-style duration (`30s`, `1m30s`, `500ms`, `2h`) in nanoseconds (the one parser of Go
/// durations: `berth_image_store::events::time`, also `events --since 10m`'s).
pub fn duration_ns(s: &str) -> Result<u64, String> {
    berth_image_store::events::time::parse_go_duration(s)
        .and_then(|d| d.num_nanoseconds())
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("invalid duration {s:?} (use e.g. 30s, 1m30s, 500ms)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_round_trips_through_the_config() {
        let mut x = Extras::default();
        assert_eq!(x.shell(), None);
        x.set_shell(&["/bin/bash".to_string(), "-c".to_string()]);
        let mut config = json!({"architecture": "amd64"});
        x.merge_into(&mut config);
        let back = Extras::from_config_json(config.to_string().as_bytes());
        assert_eq!(back.shell(), Some(vec!["/bin/bash".into(), "-c".into()]));
        let odd = Extras::from_config_json(br#"{"config":{"Shell":["sh",1]}}"#);
        assert_eq!(odd.shell(), None);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ns("30s").unwrap(), 30_000_000_000);
        assert_eq!(duration_ns("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(duration_ns("500ms").unwrap(), 500_000_000);
        assert!(duration_ns("5").is_err());
        assert!(duration_ns("x").is_err());
        assert!(duration_ns("").is_err());
    }

    #[test]
    fn healthcheck_and_onbuild_round_trip() {
        let mut e = Extras::default();
        e.set_healthcheck(
            Some(&CommandForm::Shell("curl -f http://localhost/".into())),
            &[
                ("interval".into(), "5s".into()),
                ("retries".into(), "3".into()),
            ],
        )
        .unwrap();
        e.set_onbuild(vec!["RUN echo child".into()]);
        let mut config = json!({"architecture": "amd64", "config": {"Env": ["A=1"]}});
        e.merge_into(&mut config);
        assert_eq!(
            config["config"]["Healthcheck"]["Test"],
            json!(["CMD-SHELL", "curl -f http://localhost/"])
        );
        assert_eq!(
            config["config"]["Healthcheck"]["Interval"],
            json!(5_000_000_000u64)
        );
        assert_eq!(config["config"]["Env"], json!(["A=1"]));
        let back = Extras::from_config_json(&serde_json::to_vec(&config).unwrap());
        assert_eq!(back, e);
        assert_eq!(back.onbuild(), ["RUN echo child"]);
        assert!(e
            .set_healthcheck(None, &[("bogus".into(), "1".into())])
            .is_err());
    }
}
