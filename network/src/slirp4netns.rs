//! `--network slirp4netns[:OPTIONS]`: slirp4netns (Debian's `slirp4netns` package) as Podman
//! 4 runs it, berth's rootless fallback when pasta is missing:
//!
//! `slirp4netns --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp
//!  [--enable-ipv6] [--cidr=…] [--outbound-addr=…] -c -r FD --netns-type=path
//!  --api-socket SOCK NETNS tap0`
//!
//! - `-c`: it configures `tap0` in the namespace (guest `.100`, gateway `.2`, DNS `.3` of the
//!   cidr, default 10.0.2.0/24). `-r FD`: it writes to the pipe once that is done; berth waits
//!   for it (or for its exit, then shows its messages).
//! - `-p` goes through its API socket, one `add_hostfwd` per port, as Podman's
//!   `port_handler=slirp4netns` (rootlesskit's port handler is not used: it needs a second
//!   helper process and gains only the client's source address).
//! - Options (Podman's): `allow_host_loopback=BOOL`, `cidr=CIDR`, `enable_ipv6=BOOL`,
//!   `mtu=N`, `outbound_addr=IPv4`, `outbound_addr6=IPv6`, `port_handler=slirp4netns`.
//! - It runs in the foreground: berth spawns it in a process group of its own (a terminal's
//!   ^C does not reach it) and ends it by pid ([`crate::usernet::UserNet::teardown`]).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::netavark::find_program;
use crate::ports::{PortMapping, Protocol};
use crate::usernet::{self, UserNet};

/// How long slirp4netns may take to configure the namespace.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// The slirp4netns binary (one line naming Debian's package when missing).
pub fn find() -> Result<PathBuf> {
    find_program("slirp4netns", "slirp4netns")
}

/// `--network slirp4netns:OPTS`, parsed (Podman's options and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlirpOptions {
    pub allow_host_loopback: bool,
    /// The network's first address and prefix length (default 10.0.2.0/24).
    pub cidr: (Ipv4Addr, u8),
    pub enable_ipv6: bool,
    pub mtu: u32,
    pub outbound_addr: Option<String>,
    pub outbound_addr6: Option<String>,
}

impl Default for SlirpOptions {
    fn default() -> Self {
        SlirpOptions {
            allow_host_loopback: false,
            cidr: (Ipv4Addr::new(10, 0, 2, 0), 24),
            enable_ipv6: true,
            mtu: 65520,
            outbound_addr: None,
            outbound_addr6: None,
        }
    }
}

impl SlirpOptions {
    /// Parse the options as given after `slirp4netns:` (split at commas).
    pub fn parse(opts: &[String]) -> Result<SlirpOptions> {
        let mut out = SlirpOptions::default();
        let bad = |o: &str| NetworkError::Invalid(format!("slirp4netns option {o:?} invalid"));
        let boolean = |o: &str, v: &str| v.parse::<bool>().map_err(|_| bad(o));
        for o in opts.iter().filter(|o| !o.is_empty()) {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            match k {
                "allow_host_loopback" => out.allow_host_loopback = boolean(o, v)?,
                "enable_ipv6" => out.enable_ipv6 = boolean(o, v)?,
                "mtu" => out.mtu = v.parse().ok().filter(|m| *m > 0).ok_or_else(|| bad(o))?,
                "cidr" => {
                    let net: ipnet::Ipv4Net = v.parse().map_err(|_| bad(o))?;
                    if net.prefix_len() > 30 {
                        return Err(bad(o));
                    }
                    out.cidr = (net.network(), net.prefix_len());
                }
                "outbound_addr" if !v.is_empty() => out.outbound_addr = Some(v.into()),
                "outbound_addr6" if !v.is_empty() => out.outbound_addr6 = Some(v.into()),
                "port_handler" if v == "slirp4netns" => {}
                "port_handler" => {
                    return Err(NetworkError::Invalid(format!(
                        "slirp4netns option {o:?}: berth forwards ports only through \
                         slirp4netns (port_handler=slirp4netns)"
                    )))
                }
                _ => {
                    return Err(NetworkError::Invalid(format!(
                        "unknown option for slirp4netns: {o}"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// The address `n` of the network (`.2` the gateway, `.3` DNS, `.100` the guest).
    fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.cidr.0) + n)
    }

    /// slirp4netns's arguments for `netns`, readiness on `ready_fd`, the API on `socket`.
    fn args(&self, ready_fd: i32, socket: &Path, netns: &Path) -> Vec<String> {
        let mut a = Vec::new();
        if !self.allow_host_loopback {
            a.push("--disable-host-loopback".to_string());
        }
        a.push(format!("--mtu={}", self.mtu));
        a.extend(["--enable-sandbox".into(), "--enable-seccomp".into()]);
        if self.enable_ipv6 {
            a.push("--enable-ipv6".into());
        }
        if self.cidr != SlirpOptions::default().cidr {
            a.push(format!("--cidr={}/{}", self.cidr.0, self.cidr.1));
        }
        if let Some(x) = &self.outbound_addr {
            a.push(format!("--outbound-addr={x}"));
        }
        if let Some(x) = &self.outbound_addr6 {
            a.push(format!("--outbound-addr6={x}"));
        }
        a.extend(["-c".into(), "-r".into(), ready_fd.to_string()]);
        a.push("--netns-type=path".into());
        a.extend(["--api-socket".into(), socket.display().to_string()]);
        a.push(netns.display().to_string());
        a.push("tap0".into());
        a
    }
}

/// The `add_hostfwd` request for one host port (slirp4netns's API, JSON on a unix socket).
fn hostfwd_request(proto: Protocol, host_ip: &str, host_port: u16, guest_port: u16) -> String {
    let host_addr = if host_ip.is_empty() {
        "0.0.0.0"
    } else {
        host_ip
    };
    serde_json::json!({
        "execute": "add_hostfwd",
        "arguments": {
            "proto": proto.as_str(),
            "host_addr": host_addr,
            "host_port": host_port,
            "guest_port": guest_port,
        }
    })
    .to_string()
}

/// Send one request to the API socket; its `error` as an error.
fn api_call(socket: &Path, request: &str) -> Result<()> {
    let io = |e| NetworkError::io(socket, e);
    let mut s = UnixStream::connect(socket).map_err(io)?;
    s.set_read_timeout(Some(READY_WITHIN)).map_err(io)?;
    s.write_all(request.as_bytes()).map_err(io)?;
    s.shutdown(std::net::Shutdown::Write).map_err(io)?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(io)?;
    let v: serde_json::Value = serde_json::from_str(&answer)
        .map_err(|_| NetworkError::Refused(format!("slirp4netns API answered {answer:?}")))?;
    match v.get("error") {
        Some(e) => Err(NetworkError::Refused(
            e.get("desc")
                .and_then(|d| d.as_str())
                .unwrap_or("error")
                .to_string(),
        )),
        None => Ok(()),
    }
}

/// Make container `id`'s namespace, start slirp4netns on it and forward `ports` through its
/// API. On failure nothing is left (slirp4netns's own message in the error).
pub fn start(
    dirs: &NetworkDirs,
    id: &str,
    ports: &[PortMapping],
    opts: &[String],
) -> Result<UserNet> {
    let options = SlirpOptions::parse(opts)?;
    if let Some(m) = ports.iter().find(|m| m.protocol == Protocol::Sctp) {
        return Err(NetworkError::Invalid(format!(
            "slirp4netns cannot forward sctp (port {})",
            m.host_port
        )));
    }
    let program = find()?;
    let netns = usernet::prepare(dirs, id)?;
    let helper = match spawn(&program, dirs, id, &options, &netns) {
        Ok(h) => h,
        Err(e) => {
            usernet::discard(dirs, id, &netns);
            return Err(e);
        }
    };
    if let Err(e) = forward(&helper, ports) {
        helper.teardown(dirs, id);
        return Err(e);
    }
    Ok(helper)
}

/// One `add_hostfwd` per host port of `ports`.
fn forward(helper: &UserNet, ports: &[PortMapping]) -> Result<()> {
    let Some(socket) = &helper.api_socket else {
        return Ok(());
    };
    for m in ports {
        for i in 0..m.range.max(1) {
            let (host, guest) = (m.host_port + i, m.container_port + i);
            api_call(
                socket,
                &hostfwd_request(m.protocol, &m.host_ip, host, guest),
            )
            .map_err(|e| {
                NetworkError::Refused(format!(
                    "slirp4netns cannot forward host port {host}/{} to {guest}: {e}",
                    m.protocol
                ))
            })?;
        }
    }
    Ok(())
}

fn spawn(
    program: &Path,
    dirs: &NetworkDirs,
    id: &str,
    options: &SlirpOptions,
    netns: &Path,
) -> Result<UserNet> {
    let (log, socket) = (
        usernet::file(dirs, id, "log"),
        usernet::file(dirs, id, "sock"),
    );
    let _ = std::fs::remove_file(&socket);
    let log_file = std::fs::File::create(&log).map_err(|e| NetworkError::io(&log, e))?;
    let (mut ready, writer) = std::io::pipe().map_err(|e| NetworkError::io("pipe", e))?;
    // The write end is inherited under its own number (std's pipes are close-on-exec).
    rustix::io::fcntl_setfd(&writer, rustix::io::FdFlags::empty())
        .map_err(|e| NetworkError::io("pipe", e.into()))?;
    let child = Command::new(program)
        .args(options.args(writer.as_raw_fd(), &socket, netns))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .map_err(|e| NetworkError::io(program, e))?;
    drop(writer);
    let pid = child.id();
    // slirp4netns writes one byte once configured; EOF means it exited.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut b = [0u8; 1];
        let _ = tx.send(matches!(ready.read(&mut b), Ok(1)));
    });
    let ok = rx.recv_timeout(READY_WITHIN).unwrap_or(false);
    let start_time = usernet::start_time(pid);
    let helper = UserNet {
        program: "slirp4netns".into(),
        pid,
        start_time: start_time.unwrap_or(0),
        netns: netns.to_path_buf(),
        api_socket: Some(socket),
        dns_servers: vec![IpAddr::V4(options.host(3))],
        addresses: vec![IpAddr::V4(options.host(100))],
        gateway: Some(IpAddr::V4(options.host(2))),
    };
    if !ok || start_time.is_none() {
        let msg = usernet::messages(&log);
        helper.stop();
        let mut child = child;
        let _ = child.wait();
        return Err(NetworkError::Refused(format!(
            "slirp4netns did not configure the namespace: {msg}"
        )));
    }
    Ok(helper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_as_podman_takes_them() {
        let o =
            |s: &[&str]| SlirpOptions::parse(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(o(&[]).unwrap(), SlirpOptions::default());
        let x = o(&[
            "allow_host_loopback=true",
            "cidr=10.5.0.0/16",
            "enable_ipv6=false",
            "mtu=1500",
        ])
        .unwrap();
        assert!(x.allow_host_loopback && !x.enable_ipv6);
        assert_eq!((x.cidr, x.mtu), ((Ipv4Addr::new(10, 5, 0, 0), 16), 1500));
        assert_eq!(x.host(100), Ipv4Addr::new(10, 5, 0, 100));
        assert!(o(&["port_handler=slirp4netns"]).is_ok());
        for bad in [
            "port_handler=rootlesskit",
            "mtu=x",
            "cidr=1.2.3.4/31",
            "nope=1",
        ] {
            assert!(o(&[bad]).is_err(), "{bad}");
        }
        let a = x.args(3, Path::new("/s"), Path::new("/ns"));
        assert_eq!(
            a.join(" "),
            "--mtu=1500 --enable-sandbox --enable-seccomp --cidr=10.5.0.0/16 -c -r 3 \
             --netns-type=path --api-socket /s /ns tap0"
        );
        let a = SlirpOptions::default().args(3, Path::new("/s"), Path::new("/ns"));
        assert!(a.starts_with(&["--disable-host-loopback".to_string(), "--mtu=65520".into()]));
    }

    #[test]
    fn hostfwd_requests_are_slirp4netns_api_json() {
        let r: serde_json::Value =
            serde_json::from_str(&hostfwd_request(Protocol::Tcp, "", 8080, 80)).unwrap();
        assert_eq!(
            r,
            serde_json::json!({"execute": "add_hostfwd", "arguments":
                {"proto": "tcp", "host_addr": "0.0.0.0", "host_port": 8080, "guest_port": 80}})
        );
    }
}
