//! The driver: Debian's `netavark` (and the `aardvark-dns` it starts), run with the JSON
//! contract Podman uses: `netavark --config DIR --rootless=BOOL --aardvark-binary PATH
//! setup|teardown NETNS`, the network options on stdin, the status on stdout, an error as
//! `{"error": "…"}` on stdout. Rootless, netavark runs [`Inside`] a network namespace of
//! berth's user namespace (the rootless netns, `rootless_netns`), in a mount
//! namespace of its own where that netns's `resolv.conf` is `/etc/resolv.conf` (aardvark-dns
//! forwards to what it names), as Podman's `RootlessNetNS.Do` runs it. The types here are netavark's, field for field (netavark
//! 1.4's `NetworkOptions`, `PerNetworkOptions` and `StatusBlock`; its `PortMapping` is
//! [`crate::ports::PortMapping`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::Network;
use crate::error::{NetworkError, Result};
use crate::ports::PortMapping;

/// Where Podman's packages put netavark and aardvark-dns, searched before `PATH`.
const HELPER_DIRS: &[&str] = &[
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
];

/// What netavark is asked to set up or tear down for one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkOptions {
    pub container_id: String,
    pub container_name: String,
    /// Per network (by name): how the container joins it.
    pub networks: BTreeMap<String, PerNetworkOptions>,
    /// Per network (by name): its definition.
    pub network_info: BTreeMap<String, Network>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
}

/// How a container joins one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerNetworkOptions {
    /// Names aardvark-dns resolves to the container besides its name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The interface in the container (`eth0`, `eth1`…).
    pub interface_name: String,
    /// The addresses the IPAM gave (netavark assigns none itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_ips: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_mac: Option<String>,
}

/// netavark's answer for one network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusBlock {
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_search_domains: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_server_ips: Vec<IpAddr>,
    /// By interface name in the container.
    #[serde(default, deserialize_with = "null_as_default")]
    pub interfaces: BTreeMap<String, NetInterface>,
}

/// One interface netavark made in the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetInterface {
    pub mac_address: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subnets: Vec<NetAddress>,
}

/// An address of an interface (with its prefix) and its gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetAddress {
    pub ipnet: IpNet,
    #[serde(default)]
    pub gateway: Option<IpAddr>,
}

/// Go writes an empty list or map as `null`.
fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `program` in Podman's helper directories, else on `PATH`; else the one-line error naming
/// the Debian package that has it.
pub fn find_program(program: &'static str, package: &'static str) -> Result<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    HELPER_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(path_dirs)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
        .ok_or(NetworkError::Missing { program, package })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// netavark, with aardvark-dns, keeping its state in one directory.
#[derive(Debug, Clone)]
pub struct Netavark {
    binary: PathBuf,
    aardvark: PathBuf,
    config_dir: PathBuf,
    inside: Option<Inside>,
}

/// Where a rootless netavark runs: the network namespace its "host" side is (bridges,
/// firewall rules, aardvark-dns), and the `resolv.conf` bound over `/etc/resolv.conf` for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    pub netns: PathBuf,
    pub resolv_conf: PathBuf,
}

impl Netavark {
    /// The installed netavark and aardvark-dns, with state under `config_dir`.
    pub fn find(config_dir: &Path) -> Result<Netavark> {
        Ok(Netavark {
            binary: find_program("netavark", "netavark")?,
            aardvark: find_program("aardvark-dns", "aardvark-dns")?,
            config_dir: config_dir.to_path_buf(),
            inside: None,
        })
    }

    /// This netavark run with `--rootless=true` inside `inside` (see the module's doc).
    pub fn inside(mut self, inside: Inside) -> Netavark {
        self.inside = Some(inside);
        self
    }

    /// Set up the container's networks in the namespace at `netns`; netavark's answer per
    /// network name.
    pub fn setup(
        &self,
        netns: &Path,
        opts: &NetworkOptions,
    ) -> Result<BTreeMap<String, StatusBlock>> {
        let out = self.exec("setup", netns, opts)?;
        serde_json::from_slice(&out).map_err(|e| NetworkError::Netavark {
            action: "setup".into(),
            message: format!(
                "unexpected answer ({e}): {}",
                String::from_utf8_lossy(&out).trim()
            ),
        })
    }

    /// Undo [`Netavark::setup`]: interfaces, firewall rules, DNS entries.
    pub fn teardown(&self, netns: &Path, opts: &NetworkOptions) -> Result<()> {
        self.exec("teardown", netns, opts).map(drop)
    }

    /// Run netavark `action` with `opts` on stdin; its stdout when it succeeds.
    fn exec(&self, action: &str, netns: &Path, opts: &NetworkOptions) -> Result<Vec<u8>> {
        let input = serde_json::to_vec(opts).map_err(|e| NetworkError::Netavark {
            action: action.into(),
            message: e.to_string(),
        })?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--config")
            .arg(&self.config_dir)
            .arg(format!("--rootless={}", self.inside.is_some()))
            .arg("--aardvark-binary")
            .arg(&self.aardvark)
            .arg(action)
            .arg(netns)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(inside) = &self.inside {
            enter_before_exec(&mut cmd, inside)?;
        }
        let mut child = cmd.spawn().map_err(|e| NetworkError::io(&self.binary, e))?;
        if let Some(mut stdin) = child.stdin.take() {
            // netavark reads all of its input before it answers; a closed pipe shows below.
            let _ = stdin.write_all(&input);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| NetworkError::io(&self.binary, e))?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        Err(NetworkError::Netavark {
            action: action.into(),
            message: failure_message(&out.stdout, &out.stderr, out.status),
        })
    }
}

/// Make `cmd` enter `inside` between fork and exec: the network namespace joined, a mount
/// namespace of its own (mounts private, so nothing propagates back), the `resolv.conf` bound
/// over `/etc/resolv.conf` (if that fails, aardvark-dns forwards to the host's resolvers).
fn enter_before_exec(cmd: &mut Command, inside: &Inside) -> Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let ns = std::fs::File::open(&inside.netns).map_err(|e| NetworkError::io(&inside.netns, e))?;
    let cstr = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| NetworkError::Invalid(format!("{}: a NUL byte", p.display())))
    };
    let resolv = cstr(&inside.resolv_conf)?;
    let etc_resolv = cstr(Path::new("/etc/resolv.conf"))?;
    let root = cstr(Path::new("/"))?;
    // SAFETY: between fork and exec only async-signal-safe syscalls run (setns, unshare,
    // mount) on descriptors and C strings made before the fork; `ns` lives in the closure.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0
                || libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::mount(
                resolv.as_ptr(),
                etc_resolv.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            );
            Ok(())
        });
    }
    Ok(())
}

/// netavark's `{"error": …}` (or its raw stdout) and its stderr, on one line.
fn failure_message(stdout: &[u8], stderr: &[u8], status: std::process::ExitStatus) -> String {
    #[derive(Deserialize)]
    struct Failure {
        error: String,
    }
    let stdout = String::from_utf8_lossy(stdout);
    let mut parts: Vec<String> = Vec::new();
    match serde_json::from_str::<Failure>(stdout.trim()) {
        Ok(f) => parts.push(f.error),
        Err(_) if !stdout.trim().is_empty() => parts.push(stdout.trim().to_string()),
        Err(_) => {}
    }
    let stderr = String::from_utf8_lossy(stderr);
    let stderr: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if !stderr.is_empty() {
        parts.push(stderr.join("; "));
    }
    if parts.is_empty() {
        parts.push(status.to_string());
    }
    parts.join(": ").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn options_carry_netavarks_field_names() {
        let opts = NetworkOptions {
            container_id: "c".repeat(64),
            container_name: "web".into(),
            networks: BTreeMap::from([(
                "n".to_string(),
                PerNetworkOptions {
                    aliases: vec!["www".into()],
                    interface_name: "eth0".into(),
                    static_ips: vec!["10.90.0.2".parse().unwrap()],
                    static_mac: None,
                },
            )]),
            network_info: BTreeMap::new(),
            port_mappings: vec![PortMapping {
                host_ip: "127.0.0.1".into(),
                container_port: 80,
                host_port: 8080,
                range: 1,
                protocol: crate::ports::Protocol::Tcp,
            }],
        };
        let v = serde_json::to_value(&opts).unwrap();
        assert_eq!(v["networks"]["n"]["static_ips"][0], "10.90.0.2");
        assert_eq!(v["networks"]["n"]["interface_name"], "eth0");
        assert_eq!(v["port_mappings"][0]["host_port"], 8080);
        assert!(v["networks"]["n"].get("static_mac").is_none());
    }

    #[test]
    fn status_blocks_parse_with_go_nulls() {
        let answer = r#"{"n": {"dns_search_domains": null, "dns_server_ips": ["10.90.0.1"],
            "interfaces": {"eth0": {"mac_address": "aa:bb:cc:dd:ee:ff",
            "subnets": [{"ipnet": "10.90.0.2/24", "gateway": "10.90.0.1"}]}}}}"#;
        let s: BTreeMap<String, StatusBlock> = serde_json::from_str(answer).unwrap();
        let n = &s["n"];
        assert!(n.dns_search_domains.is_empty());
        assert_eq!(
            n.interfaces["eth0"].subnets[0].ipnet.to_string(),
            "10.90.0.2/24"
        );
    }

    #[test]
    fn failures_show_netavarks_message_and_stderr() {
        let m = failure_message(
            br#"{"error":"invalid namespace path"}"#,
            b"warning one\n",
            std::process::ExitStatus::from_raw(256),
        );
        assert_eq!(m, "invalid namespace path: warning one");
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let e = find_program("no-such-netavark-xyz", "netavark").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no-such-netavark-xyz not found: install Debian's netavark package"
        );
    }
}
