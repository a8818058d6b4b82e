use super::cgroup::*;
use super::format::*;
use super::*;
use crate::cgroupfs::unescape;
use std::path::Path;

fn write(dir: &Path, name: &str, body: &str) {
    fs::write(dir.join(name), body).unwrap();
}

#[test]
fn v2_reads_a_fake_cgroup_dir() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(
        d,
        "cpu.stat",
        "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
    );
    write(d, "memory.current", "10485760\n");
    write(
        d,
        "memory.stat",
        "anon 4096\nfile 8192\nactive_file 100\ninactive_file 2097152\n",
    );
    write(d, "memory.max", "67108864\n");
    write(d, "pids.current", "3\n");
    write(
        d,
        "io.stat",
        "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n\
         8:16 rbytes=1000 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
    );
    let s = Cgroup::V2 {
        dir: d.to_path_buf(),
    }
    .read()
    .unwrap();
    assert_eq!(
        s,
        CgroupSample {
            cpu_nanos: 1_500_000_000,
            mem_usage: 10_485_760 - 2_097_152,
            mem_limit: Some(67_108_864),
            pids: 3,
            block_read: 5096,
            block_write: 8192,
        }
    );
    // No limit, no pids controller, no io controller.
    write(d, "memory.max", "max\n");
    fs::remove_file(d.join("pids.current")).unwrap();
    fs::remove_file(d.join("io.stat")).unwrap();
    write(d, "cgroup.procs", "12\n13\n");
    let s = Cgroup::V2 {
        dir: d.to_path_buf(),
    }
    .read()
    .unwrap();
    assert_eq!(s.mem_limit, None);
    assert_eq!(s.pids, 2);
    assert_eq!((s.block_read, s.block_write), (0, 0));
    // A garbled counter names its file.
    write(d, "memory.current", "lots\n");
    let err = Cgroup::V2 {
        dir: d.to_path_buf(),
    }
    .read()
    .unwrap_err()
    .to_string();
    assert!(err.contains("memory.current"), "{err}");
}

#[test]
fn v1_reads_fake_controller_dirs() {
    let t = tempfile::tempdir().unwrap();
    let sub = |n: &str| {
        let p = t.path().join(n);
        fs::create_dir(&p).unwrap();
        p
    };
    let (cpu, mem, pids, blk) = (sub("cpuacct"), sub("memory"), sub("pids"), sub("blkio"));
    write(&cpu, "cpuacct.usage", "2034927882\n");
    write(&mem, "memory.usage_in_bytes", "1241664\n");
    write(
        &mem,
        "memory.stat",
        "cache 0\ninactive_file 5\ntotal_inactive_file 1000000\n",
    );
    write(&mem, "memory.limit_in_bytes", "9223372036854771712\n");
    write(&pids, "pids.current", "1\n");
    write(
        &blk,
        "blkio.throttle.io_service_bytes_recursive",
        "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\nTotal 4608\n",
    );
    let s = Cgroup::V1 {
        cpuacct: Some(cpu),
        memory: Some(mem),
        pids: Some(pids),
        blkio: Some(blk),
    }
    .read()
    .unwrap();
    assert_eq!(
        s,
        CgroupSample {
            cpu_nanos: 2_034_927_882,
            mem_usage: 241_664,
            mem_limit: None,
            pids: 1,
            block_read: 4096,
            block_write: 512,
        }
    );
}

const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

#[test]
fn locates_v1_on_a_hybrid_host_and_v2_on_a_pure_one() {
    let proc_cgroup = "\
9:name=systemd:/
8:pids:/berth/abc
7:blkio:/berth/abc
4:memory:/berth/abc
2:cpuacct:/berth/abc
1:cpu:/berth/abc
0::/berth/abc
";
    let cg = Cgroup::from_proc(proc_cgroup, MOUNTINFO).unwrap();
    assert_eq!(
        cg,
        Cgroup::V1 {
            cpuacct: Some("/sys/fs/cgroup/cpuacct/berth/abc".into()),
            memory: Some("/sys/fs/cgroup/memory/berth/abc".into()),
            pids: Some("/sys/fs/cgroup/pids/berth/abc".into()),
            blkio: Some("/sys/fs/cgroup/blkio/berth/abc".into()),
        }
    );
    let v2 = "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
    assert_eq!(
        Cgroup::from_proc("0::/berth/abc\n", v2),
        Some(Cgroup::V2 {
            dir: "/sys/fs/cgroup/berth/abc".into()
        })
    );
    // A mount of a sub-hierarchy (as inside a container): paths relative to its root.
    let nested = "25 1 0:22 /outer /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    assert_eq!(
        Cgroup::from_proc("0::/outer/berth/abc\n", nested),
        Some(Cgroup::V2 {
            dir: "/sys/fs/cgroup/berth/abc".into()
        })
    );
    assert_eq!(Cgroup::from_proc("0::/elsewhere\n", nested), None);
}

#[test]
fn cpu_and_memory_figures_as_podman() {
    let s = CgroupSample {
        cpu_nanos: 2_000_000_000,
        mem_usage: 241_664,
        mem_limit: Some(67_108_864),
        pids: 1,
        block_read: 0,
        block_write: 0,
    };
    let sec = 1_000_000_000u64;
    // First sample: since the start (4 s ago) → 50 %, as the average.
    let first = ContainerStats::from_sample(
        "id",
        "n",
        &s,
        (0, 0),
        10 * sec,
        6 * sec,
        None,
        Some(25_280_000_000),
    );
    assert_eq!(first.cpu_perc(), "50.00%");
    assert_eq!(first.avg_cpu_perc(), "50.00%");
    assert_eq!(first.mem_usage_text(), "241.7kB / 67.11MB");
    assert_eq!(first.mem_perc(), "0.36%");
    assert_eq!(first.net_io(), "0B / 0B");
    assert_eq!(first.cpu_time(), "2s");
    // Second sample 1 s later with 1 s more CPU → 100 %; the average is 60 %.
    let s2 = CgroupSample {
        cpu_nanos: 3 * sec,
        ..s
    };
    let second = ContainerStats::from_sample(
        "id",
        "n",
        &s2,
        (0, 0),
        11 * sec,
        6 * sec,
        Some(&first),
        None,
    );
    assert_eq!(second.cpu_perc(), "100.00%");
    assert_eq!(second.avg_cpu_perc(), "60.00%");
    // No cgroup limit: the host's memory.
    let unlimited = CgroupSample {
        mem_limit: None,
        ..s
    };
    let st = ContainerStats::from_sample(
        "id",
        "n",
        &unlimited,
        (0, 0),
        sec,
        0,
        None,
        Some(25_280_000_000),
    );
    assert_eq!(st.mem_limit, 25_280_000_000);
    assert_eq!(st.mem_usage_text(), "241.7kB / 25.28GB");
    assert_eq!(ContainerStats::default().cpu_perc(), "0.00%");
}

#[test]
fn go_formats() {
    assert_eq!(human_size(0), "0B");
    assert_eq!(human_size(516), "516B");
    assert_eq!(human_size(1372), "1.372kB");
    assert_eq!(human_size(237_568), "237.6kB");
    assert_eq!(human_size(999_960), "1000kB");
    assert_eq!(human_size(25_281_572_864), "25.28GB");
    // Go's `%.3g`, as Podman's image lists use it.
    assert_eq!(human_size_with_precision(12, 3), "12B");
    assert_eq!(human_size_with_precision(1_500_000, 3), "1.5MB");
    assert_eq!(human_size_with_precision(4_861_000, 3), "4.86MB");
    assert_eq!(human_size_with_precision(999_600, 3), "1e+03kB");
    assert_eq!(bytes_size(245_760), "240KiB");
    assert_eq!(bytes_size(67_108_864), "64MiB");
    assert_eq!(bytes_size(25_281_572_864), "23.55GiB");
    assert_eq!(go_duration(0), "0s");
    assert_eq!(go_duration(512), "512ns");
    assert_eq!(go_duration(1_500), "1.5µs");
    assert_eq!(go_duration(3_439_961), "3.439961ms");
    assert_eq!(go_duration(944_422_300), "944.4223ms");
    assert_eq!(go_duration(62_500_000_000), "1m2.5s");
    assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
    assert_eq!(percent(35.734), "35.73%");
}

#[test]
fn meminfo_netdev_and_spec() {
    assert_eq!(
        meminfo_total("MemTotal:       24688648 kB\nMemFree: 1 kB\n"),
        Some(24_688_648 * 1024)
    );
    let dev = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    1372      10    0    0    0     0          0         0      516       5    0    0    0     0       0          0
";
    assert_eq!(net_dev(dev), (1372, 516));
    let spec = |j: &str| serde_json::from_str::<oci_spec::runtime::Spec>(j).unwrap();
    assert_eq!(
        cgroups_path(&spec(r#"{"linux":{"cgroupsPath":"/berth/x"}}"#)),
        Some(std::path::Path::new("/berth/x"))
    );
    assert_eq!(cgroups_path(&spec(r#"{"linux":{}}"#)), None);
    assert_eq!(unescape(r"/a\040b"), "/a b");
}

#[test]
fn ages_read_like_podman() {
    let t = chrono::Utc::now() - chrono::Duration::seconds(3 * 3600 + 5);
    assert_eq!(human_age(Some(t)), "3 hours ago");
    assert_eq!(human_age(None), "N/A");
}
