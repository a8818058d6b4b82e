//! The parallel gzip writer against flate2's decoder and the gzip and pigz CLIs: round trips,
//! determinism across thread counts and write sizes, sizes on random and text input, and
//! failing sinks.

use std::io::{self, Read, Write};
use std::process::{Command, Stdio};

use flate2::read::MultiGzDecoder;

use super::super::block::BLOCK_SIZE;
use super::*;

/// Deterministic pseudo-random bytes (xorshift), so tests need no rand crate.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0 >> 32) as u8;
        }
    }
}

fn random(n: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0; n];
    Noise(seed | 1).fill(&mut v);
    v
}

/// Text-like bytes: words from a small vocabulary, numbered lines.
fn text(n: usize) -> Vec<u8> {
    let words = [
        "layer", "image", "blob", "digest", "manifest", "tar", "gzip", "store",
    ];
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0usize;
    while out.len() < n {
        out.extend_from_slice(
            format!("{i:06} {} ", words[(i * 7 + i / 3) % words.len()]).as_bytes(),
        );
        if i.is_multiple_of(9) {
            out.push(b'\n');
        }
        i += 1;
    }
    out.truncate(n);
    out
}

/// Random and text stretches of odd sizes, so runs start and end inside blocks and segments.
fn mixed(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    let mut k = 0;
    while out.len() < n {
        let len = [300_000, 70_001, 5_000, 1_100_000, 65_536][k % 5];
        if k % 2 == 0 {
            out.extend_from_slice(&random(len, k as u64 + 7));
        } else {
            out.extend_from_slice(&text(len));
        }
        k += 1;
    }
    out.truncate(n);
    out
}

fn compress(data: &[u8], threads: usize, chunk: usize, level: u32) -> Vec<u8> {
    let mut w = Box::new(ParGzip::new(Vec::new(), level, threads));
    for c in data.chunks(chunk.max(1)) {
        w.write_all(c).unwrap();
    }
    w.flush().unwrap();
    w.finish().unwrap()
}

fn gunzip(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(blob).read_to_end(&mut out).unwrap();
    out
}

/// `TOOL -dc` with piped stdin and stdout; None when it is not installed.
fn spawn_gunzip(tool: &str) -> Option<std::process::Child> {
    match Command::new(tool)
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => Some(c),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("{tool} not installed: skipped");
            None
        }
        Err(e) => panic!("{tool}: {e}"),
    }
}

/// Decompress with a CLI (`gzip -dc`, `pigz -dc`); None when it is not installed.
fn cli_gunzip(tool: &str, blob: &[u8]) -> Option<Vec<u8>> {
    let mut child = spawn_gunzip(tool)?;
    let mut stdin = child.stdin.take().unwrap();
    let blob = blob.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&blob));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{tool} -dc failed");
    Some(out.stdout)
}

fn check_roundtrip(name: &str, data: &[u8]) {
    let blob = compress(data, 2, 64 * 1024 + 3, 6);
    assert!(gunzip(&blob) == data, "{name}: flate2");
    for tool in ["gzip", "pigz"] {
        if let Some(out) = cli_gunzip(tool, &blob) {
            assert!(out == data, "{name}: {tool}");
        }
    }
}

#[test]
fn roundtrips_through_flate2_gzip_and_pigz() {
    check_roundtrip("empty", &[]);
    check_roundtrip("one byte", b"x");
    check_roundtrip("one block", &text(BLOCK_SIZE));
    check_roundtrip("block + 1", &random(BLOCK_SIZE + 1, 3));
    check_roundtrip("random", &random(3 * BLOCK_SIZE + 12_345, 5));
    check_roundtrip("text", &text(3 * BLOCK_SIZE + 999));
    check_roundtrip("mixed", &mixed(5 * BLOCK_SIZE + 77));
}

#[test]
fn every_level_roundtrips() {
    let data = mixed(2 * BLOCK_SIZE + 5);
    for level in [0, 1, 6, 9] {
        let blob = compress(&data, 2, 1 << 20, level);
        assert!(gunzip(&blob) == data, "level {level}");
    }
    // Level 0 stores everything: 5 bytes per 64 KiB on top of the input.
    let blob = compress(&data, 2, 1 << 20, 0);
    assert!(blob.len() <= data.len() + data.len() / 10_000 + 64);
}

/// Synthetic mixed data, then real machine code and symbols: this test binary. Encoders keep
/// state from block to block, and only varied input shows whether any of it leaks into the
/// output.
fn varied() -> Vec<u8> {
    let mut data = mixed(4 * BLOCK_SIZE + 4321);
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    data.extend_from_slice(&exe[..exe.len().min(8 * BLOCK_SIZE)]);
    data
}

#[test]
fn output_depends_only_on_input_and_level() {
    let data = varied();
    let reference = compress(&data, 1, data.len(), 6);
    for threads in [1, 2, 4] {
        for chunk in [1, 4096, 100_003, BLOCK_SIZE + 1, data.len()] {
            // Byte-at-a-time writes are slow in debug builds: once is enough.
            if chunk == 1 && threads != 2 {
                continue;
            }
            assert!(
                compress(&data, threads, chunk, 6) == reference,
                "{threads} threads, writes of {chunk}"
            );
        }
    }
    // Blocks encoded in another order (as other thread counts and timings give) by one
    // encoder: the same bytes for each.
    let blocks: Vec<Block> = data
        .chunks(BLOCK_SIZE)
        .enumerate()
        .map(|(i, c)| Block {
            data: c.to_vec(),
            dict: data[(i * BLOCK_SIZE).saturating_sub(DICT_SIZE)..i * BLOCK_SIZE].to_vec(),
            last: false,
        })
        .collect();
    let mut fresh = Vec::new();
    for b in &blocks {
        fresh.push(Encoder::new(6).encode(b).unwrap().deflate);
    }
    let mut reused = Encoder::new(6);
    for (i, b) in blocks.iter().enumerate().rev() {
        assert!(reused.encode(b).unwrap().deflate == fresh[i], "block {i}");
    }
    // Small streams take the one-block path on the caller's thread: same bytes as a pipeline
    // of one block would give.
    let small = text(1000);
    assert_eq!(compress(&small, 1, 10, 6), compress(&small, 4, 1000, 6));
}

#[test]
fn random_input_is_stored_and_text_compressed_as_level_6() {
    let level6 = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap().len()
    };
    let data = random(4 * BLOCK_SIZE, 11);
    let ours = compress(&data, 2, 1 << 16, 6).len();
    // Stored: 5 bytes per 64 KiB and the 18 bytes of gzip framing, about 0.008 %.
    assert!(ours <= data.len() + data.len() / 10_000 + 64, "{ours}");
    assert!(ours <= level6(&data) + data.len() / 10_000, "{ours}");

    let data = text(4 * BLOCK_SIZE);
    let (ours, single) = (compress(&data, 2, 1 << 16, 6).len(), level6(&data));
    // Block restarts cost a flush and a fresh Huffman table per block: well under 1 %.
    assert!(ours <= single + single / 100, "{ours} vs {single}");
}

/// A sink that takes `room` bytes, then fails.
struct FailAfter {
    room: usize,
}

impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_sink_failing_midway_gives_its_error() {
    let data = mixed(6 * BLOCK_SIZE);
    for room in [0, 5, 100_000, 3 * BLOCK_SIZE] {
        let mut w = Box::new(ParGzip::new(FailAfter { room }, 6, 2));
        let wrote = w.write_all(&data);
        let err = match wrote {
            Err(e) => {
                // Later calls keep failing, and say why.
                let again = w.write_all(b"more").unwrap_err();
                assert!(again.to_string().contains("disk full"), "{again}");
                e
            }
            Ok(()) => w.finish().map(|_| ()).unwrap_err(),
        };
        assert!(err.to_string().contains("disk full"), "room {room}: {err}");
    }
    // A failure found by finish, in the one-block path.
    let w = Box::new(ParGzip::new(FailAfter { room: 3 }, 6, 2));
    assert!(w.finish().is_err());
}

#[test]
fn dropping_unfinished_stops_the_threads() {
    let data = random(5 * BLOCK_SIZE, 1);
    let mut w = ParGzip::new(Vec::new(), 6, 4);
    w.write_all(&data).unwrap();
    drop(w);
    let mut w = ParGzip::new(FailAfter { room: 10 }, 6, 4);
    let _ = w.write_all(&data);
    drop(w);
}

/// 64 MiB (mixed random and text) streamed through the writer into `gzip -dc`, never held
/// whole: the CRC-32 and length of what comes out must match what went in.
#[test]
fn large_stream_through_gzip_cli() {
    let Some(mut child) = spawn_gunzip("gzip") else {
        return;
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut h = crc32fast::Hasher::new();
        let mut buf = vec![0; 1 << 20];
        loop {
            let n = stdout.read(&mut buf).unwrap();
            if n == 0 {
                return (h.clone().finalize(), h.total_len());
            }
            h.update(&buf[..n]);
        }
    });
    let mut w = Box::new(ParGzip::new(child.stdin.take().unwrap(), 6, 2));
    let mut sent = crc32fast::Hasher::new();
    let mut noise = Noise(42);
    let words = text(1 << 20);
    let mut piece = vec![0; 1 << 20];
    for i in 0..64 {
        if i % 4 == 3 {
            piece.copy_from_slice(&words);
        } else {
            noise.fill(&mut piece);
        }
        // An odd write size, so writes straddle blocks.
        for c in piece.chunks(333_333) {
            w.write_all(c).unwrap();
        }
        sent.update(&piece);
    }
    drop(w.finish().unwrap());
    let got = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(got, (sent.clone().finalize(), 64 << 20));
}
