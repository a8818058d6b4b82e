//! ARG and ENV scoping, as Docker and Buildah do it:
//!
//! - ARGs before the first FROM are global: usable in FROM lines, and inside a stage only
//!   after `ARG NAME` (without a default) re-declares them.
//! - A stage's `ARG NAME[=default]` takes `--build-arg NAME=…`, else its default, else the
//!   global value.
//! - The platform ARGs (`TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, `TARGETVARIANT`,
//!   `BUILDPLATFORM`, `BUILDOS`, `BUILDARCH`, `BUILDVARIANT`) are predefined globals;
//!   `TARGET*` name the build's platform (`--platform`), `BUILD*` the host's.
//! - Expansion looks at ENV first, then the stage's ARGs (ENV wins over ARG).
//! - RUN sees the stage's ARGs not shadowed by ENV, plus the proxy variables given with
//!   `--build-arg` (which need no ARG and are never stored in the image).

use berth_image_store::import::host_arch;

/// Proxy variables usable without an ARG, as Docker's predefined ARGs.
const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Declared ARGs with their values (`None`: declared without one).
pub type Args = Vec<(String, Option<String>)>;

/// The build-wide part: `--build-arg` values and the global ARGs.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    build_args: Vec<(String, String)>,
    global: Args,
    /// The build's platform (os, arch, variant) for the `TARGET*` ARGs, when not the host's.
    target: Option<(String, String, String)>,
}

/// The value of `name` in `list` (the last declaration wins).
fn find(list: &Args, name: &str) -> Option<String> {
    list.iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.clone())
}

/// The platform ARGs: `BUILD*` the host's, `TARGET*` the build's platform (`target`: os,
/// arch, variant; the host's when `None`).
fn predefined(target: Option<&(String, String, String)>, name: &str) -> Option<String> {
    let arch = host_arch();
    let v = match (name, target) {
        ("TARGETPLATFORM", Some((os, arch, variant))) if variant.is_empty() => {
            format!("{os}/{arch}")
        }
        ("TARGETPLATFORM", Some((os, arch, variant))) => format!("{os}/{arch}/{variant}"),
        ("TARGETOS", Some((os, _, _))) => os.clone(),
        ("TARGETARCH", Some((_, arch, _))) => arch.clone(),
        ("TARGETVARIANT", Some((_, _, variant))) => variant.clone(),
        ("TARGETPLATFORM" | "BUILDPLATFORM", _) => format!("linux/{arch}"),
        ("TARGETOS" | "BUILDOS", _) => "linux".to_string(),
        ("TARGETARCH" | "BUILDARCH", _) => arch.to_string(),
        ("TARGETVARIANT" | "BUILDVARIANT", _) => String::new(),
        _ => return None,
    };
    Some(v)
}

impl Scope {
    pub fn new(build_args: Vec<(String, String)>) -> Scope {
        Scope {
            build_args,
            global: Vec::new(),
            target: None,
        }
    }

    /// The `TARGET*` ARGs of a build for another platform (os, arch, variant).
    pub fn with_target(mut self, os: &str, arch: &str, variant: Option<&str>) -> Scope {
        let variant = variant.unwrap_or_default().to_string();
        self.target = Some((os.to_string(), arch.to_string(), variant));
        self
    }

    fn build_arg(&self, name: &str) -> Option<String> {
        self.build_args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// A global value as FROM lines see it (declared globals, then the platform ARGs).
    pub fn global(&self, name: &str) -> Option<String> {
        find(&self.global, name).or_else(|| predefined(self.target.as_ref(), name))
    }

    /// Declare a global ARG (its default already expanded).
    pub fn declare_global(&mut self, name: &str, default: Option<String>) {
        let value = self.build_arg(name).or(default);
        self.global.push((name.to_string(), value));
    }

    /// The value a stage's `ARG name[=default]` takes.
    pub fn stage_arg(&self, name: &str, default: Option<String>) -> Option<String> {
        self.build_arg(name)
            .or(default)
            .or_else(|| self.global(name))
    }

    /// The environment a RUN step adds to the image's: ARGs not shadowed by `env`, and
    /// proxy build args.
    pub fn run_env(&self, env: &[String], args: &Args) -> Vec<String> {
        let in_env = |k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
        let mut out: Vec<String> = args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .filter(|(k, _)| !in_env(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for (k, v) in &self.build_args {
            if PROXY_ARGS.contains(&k.as_str()) && !args.iter().any(|(a, _)| a == k) {
                out.push(format!("{k}={v}"));
            }
        }
        out
    }
}

/// Look `name` up for expansion: ENV (`K=V` list) first, then the stage's ARGs.
pub fn lookup(env: &[String], args: &Args, name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .map(str::to_string)
        .or_else(|| find(args, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let mut s = Scope::new(vec![
            ("B".into(), "from-cli".into()),
            ("HTTP_PROXY".into(), "http://proxy:3128".into()),
        ]);
        s.declare_global("A", Some("global-a".into()));
        s.declare_global("B", Some("global-b".into()));
        s.declare_global("C", None);
        s
    }

    #[test]
    fn globals_and_build_args() {
        let s = scope();
        assert_eq!(s.global("A").as_deref(), Some("global-a"));
        assert_eq!(s.global("B").as_deref(), Some("from-cli"));
        assert_eq!(s.global("C"), None);
        assert_eq!(s.global("TARGETOS").as_deref(), Some("linux"));
        assert_eq!(
            s.global("TARGETPLATFORM"),
            Some(format!("linux/{}", host_arch()))
        );
    }

    #[test]
    fn stage_args() {
        let s = scope();
        // Re-declared without a default: the global value.
        assert_eq!(s.stage_arg("A", None).as_deref(), Some("global-a"));
        // A stage default wins over the global one, a build arg over both.
        assert_eq!(
            s.stage_arg("A", Some("stage".into())).as_deref(),
            Some("stage")
        );
        assert_eq!(
            s.stage_arg("B", Some("stage".into())).as_deref(),
            Some("from-cli")
        );
        assert_eq!(s.stage_arg("NEW", None), None);
        assert_eq!(
            s.stage_arg("TARGETARCH", None).as_deref(),
            Some(host_arch())
        );
    }

    #[test]
    fn env_wins_over_arg() {
        let env = vec!["PATH=/bin".to_string(), "X=env".to_string()];
        let args: Args = vec![
            ("X".into(), Some("arg".into())),
            ("Y".into(), Some("y".into())),
        ];
        assert_eq!(lookup(&env, &args, "X").as_deref(), Some("env"));
        assert_eq!(lookup(&env, &args, "Y").as_deref(), Some("y"));
        assert_eq!(lookup(&env, &args, "PAT"), None);
        assert_eq!(
            scope().run_env(&env, &args),
            ["Y=y", "HTTP_PROXY=http://proxy:3128"]
        );
    }
}
