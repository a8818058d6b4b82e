//! Run-side differences a Podman user trips on (issue 13), each made Podman 4.3's: the
//! container's `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` and its hostname on the
//! host's network and on none, `exec -w` into a missing directory, and the container's own
//! read-only view of `/sys/fs/cgroup`.

use std::fs;

use crate::run::{busybox, crun_usable};

/// The host's `/etc/hosts` as Podman rewrites it: `IP<TAB>names`, comments dropped.
pub(crate) fn host_entries() -> String {
    let mut out = String::new();
    for line in fs::read_to_string("/etc/hosts").unwrap_or_default().lines() {
        let mut fields = line.split('#').next().unwrap().split_whitespace();
        let Some(ip) = fields.next() else { continue };
        let names: Vec<&str> = fields.collect();
        if !names.is_empty() {
            out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
        }
    }
    out
}

/// The host's `/etc/resolv.conf` as Podman 4.3 rewrites it for the host's network: the last
/// `search` line, every nameserver, the last `options` line, nothing else.
fn host_resolv_conf() -> String {
    let text = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let (mut search, mut ns, mut options) = (String::new(), String::new(), String::new());
    for line in text.lines() {
        let fields: Vec<&str> = line.split('#').next().unwrap().split_whitespace().collect();
        match fields[..] {
            ["search", ref rest @ ..] if !rest.is_empty() => {
                search = format!("search {}\n", rest.join(" "))
            }
            ["nameserver", ip] if ip.parse::<std::net::IpAddr>().is_ok() => {
                ns.push_str(&format!("nameserver {ip}\n"))
            }
            ["options", ref rest @ ..] if !rest.is_empty() => {
                options = format!("options {}\n", rest.join(" "))
            }
            _ => {}
        }
    }
    search + &ns + &options
}

/// The source and options of the mount at `dest`, from the container's mountinfo.
fn mount_of<'a>(mountinfo: &'a str, dest: &str) -> Option<(&'a str, &'a str)> {
    mountinfo.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(4) == Some(&dest)).then(|| (f[3], f[5]))
    })
}

#[test]
fn host_network_has_the_hosts_name_and_files_of_its_own() {
    let r = busybox();
    let host_name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host_name = host_name.trim();
    let script = "hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; \
                  cat /etc/hostname; echo; echo ---; cat /proc/self/mountinfo; \
                  echo '1.2.3.4 mine' >> /etc/hosts";
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts.len(), 5, "{out}");
    assert_eq!(parts[0].trim(), host_name, "{out}");
    let hosts = parts[1];
    assert!(hosts.starts_with(&host_entries()), "{hosts}");
    let extra = &hosts[host_entries().len()..];
    assert!(
        extra.is_empty() || extra.ends_with("\thost.containers.internal\n"),
        "{hosts}"
    );
    assert_eq!(parts[2], host_resolv_conf(), "{out}");
    assert_eq!(parts[3].trim_end(), host_name, "{out}");
    // Files of the container's own in its run dir, bound read-write (the host's untouched).
    let runroot = r.runroot.to_string_lossy().to_string();
    for dest in ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] {
        let (source, opts) = mount_of(parts[4], dest).unwrap_or_else(|| panic!("{dest}: {out}"));
        assert!(source.starts_with(&runroot), "{dest} from {source}");
        assert!(opts.starts_with("rw"), "{dest}: {opts}");
    }
    assert!(!fs::read_to_string("/etc/hosts").unwrap().contains("mine"));
    // --hostname names the container, not the host's files.
    let out = r.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--hostname",
        "foo",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname; echo; grep -c foo /etc/hosts || true",
    ]);
    assert_eq!(out, "foo\nfoo\n0\n");
}

#[test]
fn no_network_names_itself_in_hosts_and_has_no_resolv_conf() {
    let r = busybox();
    let out = r.ok(&[
        "run",
        "--rm",
        "--name",
        "lonely",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hosts; if test -e /etc/resolv.conf; then echo resolv; fi",
    ]);
    let mut lines = out.lines();
    let id = lines.next().unwrap().to_string();
    assert_eq!(id.len(), 12, "{out}");
    let rest: Vec<&str> = lines.collect();
    assert_eq!(
        rest.last().copied(),
        Some(format!("127.0.0.1\t{id} lonely").as_str()),
        "{out}"
    );
    assert!(!out.contains("resolv\n"), "{out}");
    assert!(out.contains(&host_entries()), "{out}");
}

/// `exec -w` into a directory the container lacks fails as Podman's does (crun's words): 127
/// when it is missing, 255 when it is a file; every runtime alike, and nothing is created.
#[test]
fn exec_into_a_missing_working_directory_fails_as_podman() {
    let r = busybox();
    let mut runtimes = vec!["embedded"];
    if std::path::Path::new("/usr/bin/runc").exists() {
        runtimes.push("runc");
    }
    for rt in runtimes {
        let name = format!("ex-{rt}");
        r.ok(&[
            "run",
            "-d",
            "--runtime",
            rt,
            "--name",
            &name,
            "busybox",
            "sleep",
            "100",
        ]);
        let (code, out, err) = r.code(&["exec", "-w", "/nodir", &name, "pwd"]);
        assert_eq!(code, Some(127), "{rt}: {out}{err}");
        assert_eq!(
            err,
            "Error: chdir `/nodir`: No such file or directory: OCI runtime attempted to invoke a command that was not found\n",
            "{rt}"
        );
        let (code, _, err) = r.code(&["exec", "-w", "/etc/passwd", &name, "pwd"]);
        assert_eq!(code, Some(255), "{rt}: {err}");
        assert!(
            err.contains("OCI runtime error: chdir `/etc/passwd`: Not a directory"),
            "{rt}: {err}"
        );
        assert_eq!(r.ok(&["exec", "-w", "/tmp", &name, "pwd"]), "/tmp\n");
        let (code, _, _) = r.code(&["exec", &name, "test", "-e", "/nodir"]);
        assert_eq!(code, Some(1), "{rt}: /nodir was created");
        r.ok(&["rm", "-f", &name]);
    }
}

/// `/sys/fs/cgroup` shows the container's own cgroup, read-only, on every runtime (Podman 4.3
/// on this cgroup v1 host: each v1 hierarchy's directory of the container, bound read-only).
/// The embedded runtime gets bind mounts instead of a `cgroup` mount (its libcontainer binds
/// the hierarchies read-write whatever the options say), its skeleton read-only too.
#[test]
fn the_container_sees_its_own_cgroups_read_only() {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        eprintln!("skipped: written for a cgroup v1 or hybrid host");
        return;
    }
    let r = busybox();
    let mut runtimes = vec!["embedded"];
    if std::path::Path::new("/usr/bin/runc").exists() {
        runtimes.push("runc");
    }
    if crun_usable() {
        runtimes.push("crun");
    }
    let script = "ls /sys/fs/cgroup; echo ---; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; \
                  cat /sys/fs/cgroup/pids/cgroup.procs; echo ---; \
                  echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; \
                  mkdir /sys/fs/cgroup/pids/sub; echo ---; cat /proc/self/mountinfo";
    for rt in runtimes {
        let name = format!("cg-{rt}");
        let (code, out, err) = r.code(&[
            "run",
            "--rm",
            "--runtime",
            rt,
            "--name",
            &name,
            "--memory",
            "64m",
            "busybox",
            "sh",
            "-c",
            script,
        ]);
        assert_eq!(code, Some(0), "{rt}: {out}{err}");
        let parts: Vec<&str> = out.split("---\n").collect();
        assert_eq!(parts.len(), 4, "{rt}: {out}{err}");
        let listed: Vec<&str> = parts[0].lines().collect();
        for h in ["memory", "pids", "cpu"] {
            assert!(listed.contains(&h), "{rt}: {listed:?}");
        }
        // Its own memory cgroup (the limit set), holding its own processes.
        let mut own = parts[1].lines();
        assert_eq!(own.next(), Some("67108864"), "{rt}: {out}");
        assert!(own.any(|p| p == "1"), "{rt}: {out}");
        assert_eq!(
            err.matches("Read-only file system").count(),
            2,
            "{rt}: {err}"
        );
        for line in parts[3].lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let (root, point, opts) = (f[3], f[4], f[5]);
            if let Some(h) = point.strip_prefix("/sys/fs/cgroup/") {
                assert!(opts.starts_with("ro"), "{rt}: {line}");
                assert!(
                    root.starts_with("/berth/"),
                    "{rt}: {h} is not its own: {line}"
                );
            }
            if point == "/sys/fs/cgroup" && rt == "embedded" {
                assert!(opts.starts_with("ro"), "{rt}: {line}");
            }
        }
    }
    // Privileged: its own cgroups, writable, as Podman's.
    let out = r.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "grep ' /sys/fs/cgroup/pids ' /proc/self/mountinfo",
    ]);
    let f: Vec<&str> = out.split(' ').collect();
    assert!(
        f[3].starts_with("/berth/") && f[5].starts_with("rw"),
        "{out}"
    );
    r.assert_no_leftovers();
}
