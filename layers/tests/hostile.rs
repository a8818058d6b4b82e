//! Hostile layers: each must fail with an error naming the entry, and leave the canary
//! directory outside the target root untouched.

mod common;

use std::fs;
use std::io::Write;

use berth_layers::apply::{apply_layer, ApplyLimits, ApplyOptions};
use berth_layers::compression::compressor;
use berth_layers::{Compression, LayerError};
use common::*;

fn apply(s: &Scratch, tar: &[u8], opts: &ApplyOptions) -> LayerError {
    let err = apply_layer(tar, &s.root(), opts).expect_err("hostile layer was applied");
    eprintln!("refused: {err}");
    s.assert_canary();
    err
}

fn refused(tar: Vec<u8>, entry: &str) {
    let s = Scratch::new();
    let err = apply(&s, &tarball(&[tar]), &ApplyOptions::default());
    assert!(matches!(err, LayerError::Entry { .. }), "{err}");
    assert!(
        err.to_string().contains(entry),
        "{err} does not name {entry}"
    );
}

fn refused_after(entries: Vec<Vec<u8>>, entry: &str, opts: &ApplyOptions) -> Scratch {
    let s = Scratch::new();
    let err = apply(&s, &tarball(&entries), opts);
    assert!(matches!(err, LayerError::Entry { .. }), "{err}");
    assert!(
        err.to_string().contains(entry),
        "{err} does not name {entry}"
    );
    s
}

#[test]
fn dotdot_names_are_refused() {
    refused(
        raw_entry(b"../outside/evil", b'0', b"x", b""),
        "../outside/evil",
    );
    refused(
        raw_entry(b"a/../../outside/evil", b'0', b"x", b""),
        "a/../../outside/evil",
    );
    refused(raw_entry(b"../outside/", b'5', b"", b""), "../outside/");
}

#[test]
fn absolute_names_that_escape_are_refused() {
    refused(
        raw_entry(b"/../outside/evil", b'0', b"x", b""),
        "/../outside/evil",
    );
    refused(
        raw_entry(b"/../../../../../../tmp/berth-evil", b'0', b"x", b""),
        "berth-evil",
    );
}

#[test]
fn file_through_a_symlink_is_refused() {
    let s = Scratch::new();
    let outside = s.outside();
    let target = outside.to_str().unwrap().as_bytes().to_vec();
    let err = apply(
        &s,
        &tarball(&[
            raw_entry(b"d", b'2', b"", &target),
            raw_entry(b"d/evil", b'0', b"x", b""),
        ]),
        &ApplyOptions::default(),
    );
    assert!(err.to_string().contains("d/evil"), "{err}");
    assert!(err.to_string().contains("symlink"), "{err}");
    // Relative symlink climbing out, too.
    refused_after(
        vec![
            raw_entry(b"up", b'2', b"", b"../outside"),
            raw_entry(b"up/canary", b'0', b"x", b""),
        ],
        "up/canary",
        &ApplyOptions::default(),
    );
}

#[test]
fn directory_entry_replaces_a_symlink_instead_of_following_it() {
    let s = Scratch::new();
    let target = s.outside().to_str().unwrap().as_bytes().to_vec();
    apply_layer(
        &tarball(&[
            raw_entry(b"d", b'2', b"", &target),
            raw_entry(b"d/", b'5', b"", b""),
        ])[..],
        &s.root(),
        &ApplyOptions::default(),
    )
    .unwrap();
    let m = fs::symlink_metadata(s.root().join("d")).unwrap();
    assert!(m.is_dir());
    s.assert_canary();
    // and the outside dir's mode was not changed through the link
    assert_eq!(
        fs::metadata(s.outside()).unwrap().permissions(),
        fs::metadata(s.root()).unwrap().permissions()
    );
}

#[test]
fn hardlink_to_outside_is_refused() {
    refused(raw_entry(b"h", b'1', b"", b"../outside/canary"), "\"h\"");
    refused(raw_entry(b"h2", b'1', b"", b"/../outside/canary"), "\"h2\"");
    // An absolute target resolves in the root, where it does not exist.
    let s = Scratch::new();
    let abs = s.outside().join("canary");
    let err = apply(
        &s,
        &tarball(&[raw_entry(
            b"h3",
            b'1',
            b"",
            abs.to_str().unwrap().as_bytes(),
        )]),
        &ApplyOptions::default(),
    );
    assert!(err.to_string().contains("h3"), "{err}");
}

#[test]
fn hardlink_to_a_symlink_is_refused() {
    let s = Scratch::new();
    let target = s.outside().join("canary");
    refused_after(
        vec![
            raw_entry(b"s", b'2', b"", target.to_str().unwrap().as_bytes()),
            raw_entry(b"h", b'1', b"", b"s"),
        ],
        "\"h\"",
        &ApplyOptions::default(),
    );
}

#[test]
fn bad_whiteouts_are_refused() {
    refused(raw_entry(b".wh.", b'0', b"", b""), ".wh.");
    refused(raw_entry(b"d/.wh.", b'0', b"", b""), "d/.wh.");
    refused(raw_entry(b".wh...", b'0', b"", b""), ".wh...");
    refused(
        raw_entry(b"../.wh.outside", b'0', b"", b""),
        "../.wh.outside",
    );
    let s = Scratch::new();
    let target = s.outside().to_str().unwrap().as_bytes().to_vec();
    let err = apply(
        &s,
        &tarball(&[
            raw_entry(b"d", b'2', b"", &target),
            raw_entry(b"d/.wh.canary", b'0', b"", b""),
        ]),
        &ApplyOptions::default(),
    );
    assert!(err.to_string().contains("d/.wh.canary"), "{err}");
}

#[test]
fn opaque_marker_in_a_non_directory_is_refused() {
    refused_after(
        vec![
            raw_entry(b"f", b'0', b"file", b""),
            raw_entry(b"f/.wh..wh..opq", b'0', b"", b""),
        ],
        "f/.wh..wh..opq",
        &ApplyOptions::default(),
    );
    let s = Scratch::new();
    let target = s.outside().to_str().unwrap().as_bytes().to_vec();
    let err = apply(
        &s,
        &tarball(&[
            raw_entry(b"d", b'2', b"", &target),
            raw_entry(b"d/.wh..wh..opq", b'0', b"", b""),
        ]),
        &ApplyOptions::default(),
    );
    assert!(err.to_string().contains("d/.wh..wh..opq"), "{err}");
}

#[test]
fn device_nodes_need_privilege() {
    let opts = ApplyOptions {
        privileged: false,
        ..Default::default()
    };
    refused_after(
        vec![raw_entry(b"dev/sda", b'4', b"", b"")],
        "dev/sda",
        &opts,
    );
    refused_after(
        vec![raw_entry(b"dev/null", b'3', b"", b"")],
        "dev/null",
        &opts,
    );
}

#[test]
fn huge_pax_header_is_refused_before_reading() {
    let s = Scratch::new();
    // Claims 8 GiB; nothing follows. Must be refused from the size field alone.
    let mut t = header_only(b"PaxHeaders/evil", b'x', 8 << 30);
    t.extend_from_slice(&[0u8; 1024]);
    let err = apply(&s, &t, &ApplyOptions::default());
    assert!(matches!(err, LayerError::Limit(_)), "{err}");
    assert!(err.to_string().contains("PaxHeaders/evil"), "{err}");

    // Just over 1 MiB of real PAX records.
    let mut rec = b"path=".to_vec();
    rec.extend(std::iter::repeat_n(b'a', (1 << 20) + 10));
    rec.push(b'\n');
    let len = rec.len() + 8;
    let mut body = format!("{len} ").into_bytes();
    body.extend_from_slice(&rec);
    let s = Scratch::new();
    let err = apply(
        &s,
        &tarball(&[
            raw_entry(b"PaxHeaders/big", b'x', &body, b""),
            raw_entry(b"f", b'0', b"", b""),
        ]),
        &ApplyOptions::default(),
    );
    assert!(matches!(err, LayerError::Limit(_)), "{err}");
    // GNU long name of 2 MiB
    let s = Scratch::new();
    let err = apply(
        &s,
        &tarball(&[header_only(b"././@LongLink", b'L', 2 << 20)]),
        &ApplyOptions::default(),
    );
    assert!(matches!(err, LayerError::Limit(_)), "{err}");
}

#[test]
fn entry_count_is_limited() {
    let entries: Vec<Vec<u8>> = (0..20)
        .map(|i| raw_entry(format!("f{i}").as_bytes(), b'0', b"", b""))
        .collect();
    let s = Scratch::new();
    let opts = ApplyOptions {
        limits: ApplyLimits {
            max_entries: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let err = apply(&s, &tarball(&entries), &opts);
    assert!(matches!(err, LayerError::Limit(_)), "{err}");
    assert!(err.to_string().contains("10"), "{err}");
}

fn bomb(c: Compression) -> Vec<u8> {
    let mut tar = raw_entry(b"zeros", b'0', &vec![0u8; 32 << 20], b"");
    tar.extend_from_slice(&[0u8; 1024]);
    let mut w = compressor(Vec::new(), c, None).unwrap();
    w.write_all(&tar).unwrap();
    w.finish().unwrap()
}

#[test]
fn compression_bombs_stop_at_the_expanded_limit() {
    for c in [Compression::Gzip, Compression::Zstd] {
        let blob = bomb(c);
        assert!(blob.len() < (1 << 20), "{c} bomb is {} bytes", blob.len());
        let s = Scratch::new();
        let opts = ApplyOptions {
            limits: ApplyLimits {
                max_expanded_bytes: 4 << 20,
                ..Default::default()
            },
            ..Default::default()
        };
        let err = apply(&s, &blob, &opts);
        assert!(matches!(err, LayerError::Limit(_)), "{c}: {err}");
    }
}

fn small_layer(c: Compression) -> Vec<u8> {
    let entries: Vec<Vec<u8>> = (0..50)
        .map(|i| {
            raw_entry(
                format!("f{i}").as_bytes(),
                b'0',
                format!("content {i} ").repeat(200).as_bytes(),
                b"",
            )
        })
        .collect();
    let tar = tarball(&entries);
    let mut w = compressor(Vec::new(), c, None).unwrap();
    w.write_all(&tar).unwrap();
    w.finish().unwrap()
}

#[test]
fn truncated_streams_give_stream_errors() {
    for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
        let blob = small_layer(c);
        for cut in [blob.len() / 3, blob.len() - 9] {
            let s = Scratch::new();
            let r = apply_layer(&blob[..cut], &s.root(), &ApplyOptions::default());
            s.assert_canary();
            match r {
                Err(LayerError::Stream(_)) => {}
                // A plain tar cut at an entry boundary is a shorter valid tar: its diff_id
                // will not match the config, which the caller checks.
                Ok(stats) if c == Compression::None => {
                    assert_ne!(stats.diff_id, berth_layers::digest::digest_bytes(&blob));
                }
                other => panic!("{c} cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn junk_after_magic_gives_stream_errors() {
    for magic in [&[0x1f, 0x8b][..], &[0x28, 0xb5, 0x2f, 0xfd][..]] {
        let mut junk = magic.to_vec();
        junk.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        let s = Scratch::new();
        let err = apply(&s, &junk, &ApplyOptions::default());
        assert!(matches!(err, LayerError::Stream(_)), "{err}");
    }
    // junk that is not a tar at all
    let s = Scratch::new();
    let err = apply(&s, &[0x41u8; 2048], &ApplyOptions::default());
    assert!(matches!(err, LayerError::Stream(_)), "{err}");
}

#[test]
fn overlay_xattrs_in_the_stream_are_not_applied() {
    let rec = b"trusted.overlay.opaque=y\n";
    let key = b"SCHILY.xattr.";
    let mut line = key.to_vec();
    line.extend_from_slice(rec);
    let len = line.len() + 3;
    let mut body = format!("{len} ").into_bytes();
    body.extend_from_slice(&line);
    let s = Scratch::new();
    apply_layer(
        &tarball(&[
            raw_entry(b"PaxHeaders/d", b'x', &body, b""),
            raw_entry(b"d/", b'5', b"", b""),
        ])[..],
        &s.root(),
        &ApplyOptions::default(),
    )
    .unwrap();
    assert!(s.root().join("d").is_dir());
    assert_eq!(
        xattr::get(s.root().join("d"), "trusted.overlay.opaque").unwrap(),
        None
    );
    s.assert_canary();
}

/// Streams `count` copies of one 512-byte `./` directory header, then the end blocks.
struct ManyEntries {
    block: Vec<u8>,
    left: u64,
    end: usize,
    pos: usize,
}

impl std::io::Read for ManyEntries {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let n = buf.len().min(self.end);
            buf[..n].fill(0);
            self.end -= n;
            return Ok(n);
        }
        let n = buf.len().min(512 - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == 512 {
            self.pos = 0;
            self.left -= 1;
        }
        Ok(n)
    }
}

#[test]
fn a_million_and_one_entries_hit_the_default_limit() {
    let s = Scratch::new();
    let stream = ManyEntries {
        block: raw_entry(b"./", b'5', b"", b""),
        left: 1_000_001,
        end: 1024,
        pos: 0,
    };
    let err = apply_layer(
        std::io::BufReader::new(stream),
        &s.root(),
        &ApplyOptions::default(),
    )
    .unwrap_err();
    s.assert_canary();
    assert!(matches!(err, LayerError::Limit(_)), "{err}");
    assert!(err.to_string().contains("1000000"), "{err}");
}

#[test]
fn overlay_whiteouts_need_privilege() {
    let opts = ApplyOptions {
        privileged: false,
        whiteouts: berth_layers::WhiteoutMode::Overlay { user_xattr: true },
        ..Default::default()
    };
    refused_after(
        vec![raw_entry(b"etc/.wh.passwd", b'0', b"", b"")],
        "etc/.wh.passwd",
        &opts,
    );
}

/// GHSA-3cv2-h65g-fgmm's class: a PAX `path` and a GNU long name for the same entry, in
/// either order. GNU tar lists the PAX name; so do layer apply and every `tar::Entry` reader
/// (`pax::entry_names`), where the `tar` crate alone would give the GNU one.
#[test]
fn pax_path_wins_over_a_gnu_long_name_in_either_order() {
    let pax = raw_entry(b"PaxHeaders/x", b'x', b"18 path=pax-named\n", b"");
    let long = format!("{}\0", "gnu-long-name-".repeat(8));
    let gnu = raw_entry(b"././@LongLink", b'L', long.as_bytes(), b"");
    let file = raw_entry(b"short", b'0', b"data", b"");
    for entries in [
        vec![pax.clone(), gnu.clone(), file.clone()],
        vec![gnu, pax, file],
    ] {
        let tar = tarball(&entries);
        let s = Scratch::new();
        apply_layer(&tar[..], &s.root(), &ApplyOptions::default()).unwrap();
        let names: Vec<_> = fs::read_dir(s.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["pax-named"]);
        s.assert_canary();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        let (path, _) = berth_layers::pax::entry_names(&mut entry).unwrap();
        assert_eq!(path, b"pax-named");
    }
}
