//! `--network pasta[:OPTIONS]`: pasta (Debian's `passt` package) connects a container's
//! network namespace to the host's network in user mode, as containers/common runs it:
//!
//! `pasta --config-net [OPTIONS] -t PORTS -u PORTS -T none -U none --no-map-gw
//!  --dns-forward 169.254.0.1 --quiet --pid FILE --netns NETNS`
//!
//! - `--config-net`: pasta configures the namespace's interface itself (a copy of the host's
//!   addresses and routes on the interface of the default route).
//! - `-p` becomes `-t`/`-u` (`[IP/]HOSTPORT-END:CTRPORT-END`): pasta binds the host ports and
//!   forwards them into the namespace; without `-p`, `-t none`/`-u none` (no forwarding), and
//!   never from the namespace to the host (`-T none -U none`), as Podman.
//! - `--no-map-gw` unless the options say `--map-gw` (berth's word, not pasta's, as Podman's):
//!   the gateway address does not reach the host's loopback.
//! - `--dns-forward 169.254.0.1`: queries to that address go to the host's resolver, so the
//!   container's `/etc/resolv.conf` names it first.
//! - pasta forks once the namespace is ready (the parent's exit status says whether it is);
//!   its pid comes from `--pid FILE`. It also quits by itself when the namespace's file is
//!   removed; berth ends it by pid anyway ([`crate::usernet::UserNet::teardown`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::netavark::find_program;
use crate::ports::{PortMapping, Protocol};
use crate::usernet::{self, UserNet};

/// The address pasta answers DNS queries on (forwarded to the host's resolver).
pub const DNS_FORWARD: Ipv4Addr = Ipv4Addr::new(169, 254, 0, 1);

/// The pasta binary (one line naming Debian's `passt` package when missing).
pub fn find() -> Result<PathBuf> {
    find_program("pasta", "passt")
}

/// pasta's arguments for a namespace at `netns`: `extra` (`--network pasta:OPTS`, split at
/// commas) first, then `ports`, then what berth always sets (see the module's doc).
pub fn args(
    extra: &[String],
    ports: &[PortMapping],
    netns: &Path,
    pid_file: &Path,
) -> Result<Vec<String>> {
    let given = |names: &[&str]| extra.iter().any(|o| names.contains(&o.as_str()));
    let mut tcp = given(&["-t", "--tcp-ports"]);
    let mut udp = given(&["-u", "--udp-ports"]);
    let map_gw = given(&["--map-gw"]);
    let mut out: Vec<String> = vec!["--config-net".into()];
    out.extend(extra.iter().filter(|o| *o != "--map-gw").cloned());
    for m in ports {
        let flag = match m.protocol {
            Protocol::Tcp => {
                tcp = true;
                "-t"
            }
            Protocol::Udp => {
                udp = true;
                "-u"
            }
            Protocol::Sctp => {
                return Err(NetworkError::Invalid(format!(
                    "pasta cannot forward sctp (port {})",
                    m.host_port
                )))
            }
        };
        let addr = if m.host_ip.is_empty() {
            String::new()
        } else {
            format!("{}/", m.host_ip)
        };
        let last = m.range.max(1) - 1;
        out.push(flag.into());
        out.push(format!(
            "{addr}{}-{}:{}-{}",
            m.host_port,
            m.host_port + last,
            m.container_port,
            m.container_port + last
        ));
    }
    for (set, flag) in [
        (tcp, "-t"),
        (udp, "-u"),
        (given(&["-T", "--tcp-ns"]), "-T"),
        (given(&["-U", "--udp-ns"]), "-U"),
    ] {
        if !set {
            out.extend([flag.to_string(), "none".to_string()]);
        }
    }
    if !map_gw {
        out.push("--no-map-gw".into());
    }
    if !given(&["--dns-forward"]) {
        out.extend(["--dns-forward".to_string(), DNS_FORWARD.to_string()]);
    }
    out.extend(["--quiet".into(), "--pid".into()]);
    out.push(pid_file.display().to_string());
    out.push("--netns".into());
    out.push(netns.display().to_string());
    Ok(out)
}

/// The address pasta forwards DNS queries from: `--dns-forward ADDR` of the options, else
/// [`DNS_FORWARD`].
fn dns_forward(extra: &[String]) -> IpAddr {
    extra
        .windows(2)
        .find(|w| w[0] == "--dns-forward")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(IpAddr::V4(DNS_FORWARD))
}

/// Make container `id`'s namespace and start pasta on it, forwarding `ports`. On failure
/// nothing is left (pasta's own message in the error).
pub fn start(
    dirs: &NetworkDirs,
    id: &str,
    ports: &[PortMapping],
    extra: &[String],
) -> Result<UserNet> {
    let program = find()?;
    let netns = usernet::prepare(dirs, id)?;
    let started = spawn(&program, dirs, id, ports, extra, &netns);
    if started.is_err() {
        usernet::discard(dirs, id, &netns);
    }
    started
}

fn spawn(
    program: &Path,
    dirs: &NetworkDirs,
    id: &str,
    ports: &[PortMapping],
    extra: &[String],
    netns: &Path,
) -> Result<UserNet> {
    let (log, pid_file) = (
        usernet::file(dirs, id, "log"),
        usernet::file(dirs, id, "pid"),
    );
    let _ = std::fs::remove_file(&pid_file);
    let log_file = std::fs::File::create(&log).map_err(|e| NetworkError::io(&log, e))?;
    // Not a pipe: the forked pasta keeps its parent's stderr, and a pipe would stay open.
    let status = Command::new(program)
        .args(args(extra, ports, netns, &pid_file)?)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .map_err(|e| NetworkError::io(program, e))?;
    let fail =
        |what: String| NetworkError::Refused(format!("pasta {what}: {}", usernet::messages(&log)));
    if !status.success() {
        return Err(fail(format!("failed ({status})")));
    }
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| fail(format!("wrote no pid to {}", pid_file.display())))?;
    let _ = std::fs::remove_file(&pid_file);
    let start_time = usernet::start_time(pid).ok_or_else(|| fail("ended at once".into()))?;
    Ok(UserNet {
        program: "pasta".into(),
        pid,
        start_time,
        netns: netns.to_path_buf(),
        api_socket: None,
        dns_servers: vec![dns_forward(extra)],
        addresses: Vec::new(),
        gateway: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(
        host_ip: &str,
        host_port: u16,
        container_port: u16,
        range: u16,
        p: Protocol,
    ) -> PortMapping {
        PortMapping {
            host_ip: host_ip.into(),
            container_port,
            host_port,
            range,
            protocol: p,
        }
    }

    #[test]
    fn ports_become_pastas_forwards_as_podman_passes_them() {
        let a = args(
            &[],
            &[
                m("127.0.0.1", 8080, 80, 1, Protocol::Tcp),
                m("", 5000, 53, 2, Protocol::Udp),
            ],
            Path::new("/ns"),
            Path::new("/p"),
        )
        .unwrap();
        assert_eq!(
            a.join(" "),
            "--config-net -t 127.0.0.1/8080-8080:80-80 -u 5000-5001:53-54 -T none -U none \
             --no-map-gw --dns-forward 169.254.0.1 --quiet --pid /p --netns /ns"
        );
        let a = args(&[], &[], Path::new("/ns"), Path::new("/p")).unwrap();
        assert_eq!(
            a.join(" "),
            "--config-net -t none -u none -T none -U none --no-map-gw --dns-forward 169.254.0.1 \
             --quiet --pid /p --netns /ns"
        );
    }

    #[test]
    fn the_users_options_come_first_and_win() {
        let extra: Vec<String> = ["--map-gw", "-T", "8000", "--dns-forward", "10.0.0.1"]
            .map(String::from)
            .to_vec();
        let a = args(&extra, &[], Path::new("/ns"), Path::new("/p")).unwrap();
        assert_eq!(
            a.join(" "),
            "--config-net -T 8000 --dns-forward 10.0.0.1 -t none -u none -U none --quiet \
             --pid /p --netns /ns"
        );
        assert_eq!(dns_forward(&extra), "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(dns_forward(&[]), IpAddr::V4(DNS_FORWARD));
        let sctp = args(
            &[],
            &[m("", 1, 1, 1, Protocol::Sctp)],
            Path::new("/n"),
            Path::new("/p"),
        );
        assert!(sctp.unwrap_err().to_string().contains("sctp"));
    }
}
