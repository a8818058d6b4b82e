//! `-p` on a rootless bridge network, as Podman's rootlessport: the host's firewall is not
//! the user's, so one forwarder process per container binds the host ports (in the host's
//! network, which berth's user namespace shares) and, for each TCP connection or UDP
//! client, opens a socket in the rootless netns (`rootless_netns`) to the container's address
//! and copies both ways (TCP with splice(2), no copy to user space). The container sees
//! connections from the bridge's gateway, not from the client (as with Podman's rootlessport).
//!
//! The forwarder is berth itself, `berth container rootlessport CONFIG` ([`SUBCOMMAND`],
//! [`serve`]): it binds every port, joins the rootless netns, forks (the parent prints the
//! child's pid and exits 0, or exits non-zero with the error on stderr, which [`start`]
//! shows), and the child serves until killed. [`start`] returns its [`UserNet`] (pid and
//! start time); `attach::detach` ends it by them.

use std::collections::HashMap;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::dirs::NetworkDirs;
use crate::error::{NetworkError, Result};
use crate::ports::{PortMapping, Protocol};
use crate::usernet::{self, UserNet};

/// berth's hidden subcommand that runs [`serve`].
pub const SUBCOMMAND: [&str; 2] = ["container", "rootlessport"];

/// How long a UDP client's socket lives without traffic.
const UDP_IDLE: Duration = Duration::from_secs(60);

/// What the forwarder serves (its one argument, as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardConfig {
    /// The namespace the connections to the container are made from.
    pub netns: PathBuf,
    /// The container's address there.
    pub target: IpAddr,
    pub ports: Vec<PortMapping>,
}

/// Start the forwarder of container `id` (berth's own binary); once this returns, every port
/// is bound. On failure the forwarder's own message is in the error.
pub fn start(dirs: &NetworkDirs, id: &str, config: &ForwardConfig) -> Result<UserNet> {
    if let Some(m) = config.ports.iter().find(|m| m.protocol == Protocol::Sctp) {
        return Err(NetworkError::Invalid(format!(
            "rootless port forwarding cannot forward sctp (port {})",
            m.host_port
        )));
    }
    let exe = std::env::current_exe().map_err(|e| NetworkError::io("/proc/self/exe", e))?;
    let dir = dirs.run.join("usernet");
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    let log = usernet::file(dirs, id, "portfwd");
    let log_file = std::fs::File::create(&log).map_err(|e| NetworkError::io(&log, e))?;
    let json = serde_json::to_string(config).map_err(|e| NetworkError::Invalid(e.to_string()))?;
    let mut cmd = Command::new(&exe);
    cmd.args(SUBCOMMAND)
        .arg(json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file);
    // SAFETY: setsid(2) is async-signal-safe: the forwarder leaves the caller's session (a
    // terminal's ^C does not reach it).
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let out = cmd.output().map_err(|e| NetworkError::io(&exe, e))?;
    let fail = |what: String| {
        let message = usernet::messages(&log);
        let _ = std::fs::remove_file(&log);
        NetworkError::Refused(format!("rootless port forwarding {what}: {message}"))
    };
    if !out.status.success() {
        return Err(fail(format!("failed ({})", out.status)));
    }
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| fail("printed no pid".into()))?;
    let start_time = usernet::start_time(pid).ok_or_else(|| fail("ended at once".into()))?;
    Ok(UserNet {
        program: "rootlessport".into(),
        pid,
        start_time,
        netns: config.netns.clone(),
        api_socket: None,
        dns_servers: Vec::new(),
        addresses: vec![config.target],
        gateway: None,
    })
}

/// End the forwarder of container `id` and remove its log.
pub fn stop(dirs: &NetworkDirs, id: &str, forwarder: &UserNet) {
    forwarder.stop();
    let _ = std::fs::remove_file(usernet::file(dirs, id, "portfwd"));
}

/// The forwarder's work (see the module's doc). Must run single-threaded (it forks). Returns
/// only on failure, before the fork.
pub fn serve(config_json: &str) -> Result<std::convert::Infallible> {
    let config: ForwardConfig = serde_json::from_str(config_json)
        .map_err(|e| NetworkError::Invalid(format!("rootlessport configuration: {e}")))?;
    let mut tcp = Vec::new();
    let mut udp = Vec::new();
    for m in &config.ports {
        let ip: IpAddr = if m.host_ip.is_empty() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            m.host_ip
                .parse()
                .map_err(|_| NetworkError::Invalid(format!("host ip {:?} invalid", m.host_ip)))?
        };
        for i in 0..m.range.max(1) {
            let host = SocketAddr::new(ip, m.host_port + i);
            let target = SocketAddr::new(config.target, m.container_port + i);
            let bound = |e: std::io::Error| {
                NetworkError::Refused(format!("cannot listen on {} {host}: {e}", m.protocol))
            };
            match m.protocol {
                Protocol::Tcp => tcp.push((TcpListener::bind(host).map_err(bound)?, target)),
                Protocol::Udp => udp.push((UdpSocket::bind(host).map_err(bound)?, target)),
                Protocol::Sctp => {
                    return Err(NetworkError::Invalid("sctp cannot be forwarded".into()))
                }
            }
        }
    }
    let ns = std::fs::File::open(&config.netns).map_err(|e| NetworkError::io(&config.netns, e))?;
    // SAFETY: setns(2) on an open namespace descriptor, while this process has one thread:
    // every socket made from here on (by this thread and the threads it starts) is in that
    // namespace; the bound listeners stay in the host's.
    if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) } != 0 {
        return Err(NetworkError::io(
            &config.netns,
            std::io::Error::last_os_error(),
        ));
    }
    drop(ns);
    // SAFETY: fork(2) in a single-threaded process; the parent only prints and exits.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(NetworkError::io("fork", std::io::Error::last_os_error()));
    }
    if child > 0 {
        println!("{child}");
        std::process::exit(0);
    }
    detach_stdio();
    let mut threads = Vec::new();
    for (listener, target) in tcp {
        threads.push(std::thread::spawn(move || tcp_loop(listener, target)));
    }
    for (socket, target) in udp {
        threads.push(std::thread::spawn(move || udp_loop(socket, target)));
    }
    for t in threads {
        let _ = t.join();
    }
    std::process::exit(0)
}

/// stdin and stdout on `/dev/null`, so the parent's reader sees the end of its pipe.
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&null);
        // SAFETY: dup2(2) onto this process's own stdin and stdout.
        unsafe {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
        }
    }
}

fn tcp_loop(listener: TcpListener, target: SocketAddr) {
    for conn in listener.incoming() {
        let Ok(client) = conn else {
            continue;
        };
        std::thread::spawn(move || {
            if let Ok(upstream) = TcpStream::connect_timeout(&target, Duration::from_secs(10)) {
                relay(client, upstream);
            }
        });
    }
}

/// Copy both ways until each side has ended.
fn relay(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let back = std::thread::spawn(move || copy_then_shutdown(b2, a2));
    copy_then_shutdown(a, b);
    let _ = back.join();
}

fn copy_then_shutdown(from: TcpStream, to: TcpStream) {
    if splice_all(&from, &to).is_err() {
        let _ = from.shutdown(Shutdown::Read);
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// How much one splice moves at most (the pipe is grown to this where the kernel allows).
const SPLICE_CHUNK: usize = 1 << 20;

/// Move everything `from` sends to `to` through a pipe with splice(2), the bytes never
/// copied to user space (as Go's io.Copy between TCP connections, which rootlessport uses).
fn splice_all(from: &TcpStream, to: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array, owned just below.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptors pipe2 just returned, owned by nothing else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl(2) on the pipe; a refusal leaves the default size.
    unsafe {
        libc::fcntl(
            w.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            SPLICE_CHUNK as libc::c_int,
        );
    }
    let splice = |src: i32, dst: i32, len: usize| -> std::io::Result<usize> {
        loop {
            // SAFETY: splice(2) between descriptors this function holds, no offsets.
            let n = unsafe {
                libc::splice(
                    src,
                    std::ptr::null_mut(),
                    dst,
                    std::ptr::null_mut(),
                    len,
                    libc::SPLICE_F_MOVE,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    };
    loop {
        let n = splice(from.as_raw_fd(), w.as_raw_fd(), SPLICE_CHUNK)?;
        if n == 0 {
            return Ok(());
        }
        let mut left = n;
        while left > 0 {
            let m = splice(r.as_raw_fd(), to.as_raw_fd(), left)?;
            if m == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            left -= m;
        }
    }
}

fn udp_loop(host: UdpSocket, target: SocketAddr) {
    let host = Arc::new(host);
    let peers: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = host.recv_from(&mut buf) else {
            continue;
        };
        let existing = peers.lock().ok().and_then(|p| p.get(&client).cloned());
        let upstream = match existing {
            Some(s) => s,
            None => {
                let Ok(s) = udp_upstream(target) else {
                    continue;
                };
                let s = Arc::new(s);
                if let Ok(mut p) = peers.lock() {
                    p.insert(client, s.clone());
                }
                let (s2, host2, peers2) = (s.clone(), host.clone(), peers.clone());
                std::thread::spawn(move || {
                    udp_replies(&s2, &host2, client);
                    if let Ok(mut p) = peers2.lock() {
                        p.remove(&client);
                    }
                });
                s
            }
        };
        let _ = upstream.send(&buf[..n]);
    }
}

/// A socket in the rootless netns connected to the container's port.
fn udp_upstream(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let any: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let s = UdpSocket::bind(SocketAddr::new(any, 0))?;
    s.connect(target)?;
    s.set_read_timeout(Some(UDP_IDLE))?;
    Ok(s)
}

/// The container's answers back to `client`, until the client has been idle for a while.
fn udp_replies(upstream: &UdpSocket, host: &UdpSocket, client: SocketAddr) {
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = upstream.recv(&mut buf) {
        let _ = host.send_to(&buf[..n], client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn the_configuration_is_one_json_argument() {
        let config = ForwardConfig {
            netns: PathBuf::from("/run/x/netns/rootless-netns"),
            target: "10.90.0.2".parse().unwrap(),
            ports: vec![PortMapping {
                host_ip: "127.0.0.1".into(),
                container_port: 80,
                host_port: 8080,
                range: 1,
                protocol: Protocol::Tcp,
            }],
        };
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<ForwardConfig>(&json).unwrap(),
            config
        );
        let bad = serve("{").unwrap_err().to_string();
        assert!(bad.contains("rootlessport configuration"), "{bad}");
    }

    #[test]
    fn relay_copies_both_ways() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let server_addr = server.local_addr().unwrap();
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let front_addr = front.local_addr().unwrap();
        std::thread::spawn(move || tcp_loop(front, server_addr));
        let echo = std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            s.write_all(&got).unwrap();
        });
        let mut c = TcpStream::connect(front_addr).unwrap();
        c.write_all(b"hello through the forwarder").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, "hello through the forwarder");
        echo.join().unwrap();
    }

    #[test]
    fn udp_clients_get_the_containers_answers() {
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = upstream.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..2 {
                let (n, from) = upstream.recv_from(&mut buf).unwrap();
                let mut reply = b"echo ".to_vec();
                reply.extend_from_slice(&buf[..n]);
                upstream.send_to(&reply, from).unwrap();
            }
        });
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let front_addr = front.local_addr().unwrap();
        std::thread::spawn(move || udp_loop(front, target));
        // Two clients, each gets its own answer.
        for word in ["one", "two"] {
            let c = UdpSocket::bind("127.0.0.1:0").unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            c.send_to(word.as_bytes(), front_addr).unwrap();
            let mut buf = [0u8; 64];
            let (n, from) = c.recv_from(&mut buf).unwrap();
            assert_eq!(from, front_addr);
            assert_eq!(&buf[..n], format!("echo {word}").as_bytes());
        }
    }
}
