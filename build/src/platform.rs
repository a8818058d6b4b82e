//! `build --platform` and `FROM --platform`: the value checked as Buildah reads it
//! (`OS/ARCH[/VARIANT]`, a comma-separated list for several) and normalised as containerd's
//! `platforms.Normalize` does (lower case; `x86_64` → `amd64`, `aarch64` → `arm64`, …), so
//! every spelling of the host's platform builds. Another platform is refused in one line:
//! RUN steps for it would need qemu user emulation, which berth does not set up yet (issue 18
//! item 3).

/// The normalised `(os, arch)` of a platform value, or Buildah's words for a malformed one.
pub fn parse(platform: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = platform.trim_end_matches('/').split('/').collect();
    if platform.is_empty() || !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty())
    {
        return Err(format!(
            "invalid platform syntax for {platform:?} (use OS/ARCH[/VARIANT][,...])"
        ));
    }
    let os = parts[0].to_ascii_lowercase();
    let arch = match parts[1].to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        "i386" | "i486" | "i586" | "i686" => "386".to_string(),
        "armhf" | "armel" => "arm".to_string(),
        other => other.to_string(),
    };
    Ok((os, arch))
}

/// Accept the host's platform, in any spelling; refuse a malformed or other one clearly.
pub fn check_platform(platform: &str) -> Result<(), String> {
    let native = berth_image_store::import::host_arch();
    for one in platform.split(',') {
        let (os, arch) = parse(one.trim())?;
        if os != "linux" {
            return Err(format!(
                "platform {one:?}: only linux images can be built (not {os:?})"
            ));
        }
        if arch != native {
            return Err(format!(
                "platform {one:?}: only the native platform linux/{native} can be built for now \
                 (RUN steps for {arch} would need qemu user emulation, which berth does not \
                 set up yet)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_image_store::import::host_arch;

    #[test]
    fn only_the_native_platform_in_any_spelling() {
        let native = format!("linux/{}", host_arch());
        assert!(check_platform(&native).is_ok());
        assert!(check_platform(&format!("{native}/v8")).is_ok());
        assert!(check_platform(&native.to_uppercase()).is_ok());
        assert!(check_platform(&format!("{native},{native}")).is_ok());
        if host_arch() == "amd64" {
            assert!(check_platform("linux/x86_64").is_ok());
        }
        let err = check_platform("linux/s390x").unwrap_err();
        assert!(err.contains("only the native platform"), "{err}");
        assert!(err.contains("qemu"), "{err}");
        assert!(check_platform(&format!("{native},linux/s390x")).is_err());
        let err = check_platform("windows/amd64").unwrap_err();
        assert!(err.contains("only linux"), "{err}");
    }

    #[test]
    fn malformed_values_in_buildahs_words() {
        for bad in ["linux", "", "linux/amd64/v2/x", "/amd64", "linux//v8"] {
            let err = check_platform(bad).unwrap_err();
            assert!(
                err.starts_with("invalid platform syntax for"),
                "{bad}: {err}"
            );
            assert!(err.contains("OS/ARCH[/VARIANT]"), "{err}");
        }
        assert_eq!(
            parse("Linux/AArch64").unwrap(),
            ("linux".into(), "arm64".into())
        );
    }
}
