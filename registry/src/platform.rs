//! Choosing one image from an OCI index or a Docker manifest list.

use oci_spec::image::{Descriptor, ImageIndex};

use crate::error::{RegistryError, Result};

/// An architecture in Go's names, from any spelling a user types, as containerd's
/// `platforms.Normalize` reads them (lower case; `x86_64` → `amd64`, `aarch64` → `arm64`, …).
pub fn normalize_arch(arch: &str) -> String {
    match arch.to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        "i386" | "i486" | "i586" | "i686" => "386".to_string(),
        "armhf" | "armel" => "arm".to_string(),
        other => other.to_string(),
    }
}

/// A platform: `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// Architecture in Go's names (`amd64`, `arm64`).
    pub arch: String,
    /// Variant (`v8`), if one is required.
    pub variant: Option<String>,
}

impl Platform {
    /// The host's platform.
    pub fn host() -> Platform {
        let arch = berth_image_store::import::host_arch();
        Platform {
            os: std::env::consts::OS.to_string(),
            arch: arch.to_string(),
            variant: None,
        }
    }

    /// The host's platform with `--platform os/arch[/variant]`, `--os`, `--arch`,
    /// `--variant` applied.
    pub fn choose(
        platform: Option<&str>,
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
    ) -> Result<Platform> {
        let mut p = Platform::host();
        if let Some(spec) = platform {
            let parts: Vec<&str> = spec.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|s| s.is_empty()) {
                return Err(RegistryError::Invalid {
                    what: format!("--platform {spec:?}"),
                    message: "expected os/arch[/variant]".into(),
                });
            }
            p.os = parts[0].to_ascii_lowercase();
            p.arch = normalize_arch(parts[1]);
            p.variant = parts.get(2).map(|s| s.to_string());
        }
        if let Some(o) = os {
            p.os = o.to_ascii_lowercase();
        }
        if let Some(a) = arch {
            p.arch = normalize_arch(a);
        }
        if let Some(v) = variant {
            p.variant = Some(v.to_string());
        }
        Ok(p)
    }

    /// Pick the manifest for this platform from an index (`what` names it in errors).
    pub fn select(&self, index: &ImageIndex, what: &str) -> Result<Descriptor> {
        let mut available = Vec::new();
        for m in index.manifests() {
            let Some(p) = m.platform() else { continue };
            let os = p.os().to_string();
            let arch = p.architecture().to_string();
            let variant = p.variant().clone();
            available.push(format!(
                "{os}/{arch}{}",
                variant
                    .as_deref()
                    .map(|v| format!("/{v}"))
                    .unwrap_or_default()
            ));
            if os == self.os
                && arch == self.arch
                && (self.variant.is_none() || self.variant == variant)
            {
                return Ok(m.clone());
            }
        }
        Err(RegistryError::Invalid {
            what: what.to_string(),
            message: format!(
                "no image for platform {}/{}{} (available: {})",
                self.os,
                self.arch,
                self.variant
                    .as_deref()
                    .map(|v| format!("/{v}"))
                    .unwrap_or_default(),
                available.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_by_os_arch_variant() {
        let json = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let index = ImageIndex::from_reader(json.as_bytes()).unwrap();
        let p = Platform::choose(Some("linux/arm64/v8"), None, None, None).unwrap();
        assert!(p
            .select(&index, "x")
            .unwrap()
            .digest()
            .to_string()
            .ends_with("1111"));
        let p = Platform::choose(None, Some("linux"), Some("amd64"), None).unwrap();
        assert!(p
            .select(&index, "x")
            .unwrap()
            .digest()
            .to_string()
            .ends_with("2222"));
        let p = Platform::choose(Some("linux/s390x"), None, None, None).unwrap();
        let e = p.select(&index, "idx").unwrap_err().to_string();
        assert!(e.contains("linux/arm64/v8") && e.contains("idx"), "{e}");
        assert!(Platform::choose(Some("linux"), None, None, None).is_err());
    }
}
