//! Time `apply_layer` on a synthetic layer with many small files (the data plane's per-entry
//! cost): `cargo run -p berth-layers --release --example apply_bench [files]`.

use std::time::Instant;

use berth_layers::{apply_layer, ApplyOptions};

fn main() {
    let files: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40_000);
    let mut b = tar::Builder::new(Vec::new());
    let body = vec![7u8; 1024];
    for d in 0..files / 100 {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, format!("usr/share/d{d}/"), &[][..])
            .unwrap();
        for f in 0..100 {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(body.len() as u64);
            h.set_mtime(1_600_000_000);
            b.append_data(&mut h, format!("usr/share/d{d}/f{f}"), &body[..])
                .unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, format!("usr/share/d{d}/link"), "f0")
            .unwrap();
    }
    let tar = b.into_inner().unwrap();
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| "/dev/shm".into());
    let base = std::path::Path::new(&base);
    let mut times = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir_in(base).unwrap();
        let (t, c) = (Instant::now(), cpu());
        let stats = apply_layer(&tar[..], dir.path(), &ApplyOptions::default()).unwrap();
        times.push((t.elapsed().as_secs_f64(), cpu() - c));
        assert!(stats.entries > files as u64);
    }
    times.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
    println!(
        "apply {} entries ({} MiB tar) into {}: cpu median {:.3}s min {:.3}s; wall of those {:.3}s {:.3}s",
        files + files / 50,
        tar.len() >> 20,
        base.display(),
        times[2].1,
        times[0].1,
        times[2].0,
        times[0].0
    );
}

/// CPU time (user + system) of this process, in seconds.
fn cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}
