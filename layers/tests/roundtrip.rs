//! Positive round trips: tree → layer → apply → same tree; diff and whiteouts.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_layers::apply::{apply_layer, ApplyOptions, WhiteoutMode};
use berth_layers::diff::{dir_diff_to_layer, overlay_upper_to_layer};
use berth_layers::writer::{tar_stream_to_layer, LayerOptions};
use berth_layers::Compression;
use common::*;

fn build_tree(src: &Path) {
    fs::create_dir_all(src.join("etc/sub")).unwrap();
    fs::write(src.join("etc/hosts"), b"127.0.0.1 localhost\n").unwrap();
    fs::write(src.join("big"), vec![0x5a; 300_000]).unwrap();
    fs::write(src.join("suid"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(src.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir(src.join("sticky")).unwrap();
    fs::set_permissions(src.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    symlink("/etc/hosts", src.join("abs-link")).unwrap();
    symlink("etc/hosts", src.join("rel-link")).unwrap();
    symlink(format!("/{}", "t".repeat(150)), src.join("long-link")).unwrap();
    fs::write(src.join("hard-a"), b"shared").unwrap();
    fs::hard_link(src.join("hard-a"), src.join("hard-b")).unwrap();
    fs::write(src.join("xattr-file"), b"x").unwrap();
    xattr::set(src.join("xattr-file"), "user.berth.test", b"value").unwrap();
    // A binary value with a newline (as a file capability's bytes can be): PAX records are
    // read by their length.
    xattr::set(
        src.join("xattr-file"),
        "user.berth.binary",
        b"\x01\n\x02=\x00",
    )
    .unwrap();
    xattr::set(src.join("etc"), "user.berth.dir", b"d").unwrap();
    // a path over 255 bytes with a component over 100 bytes
    let long_dir = src.join("a".repeat(120)).join("b".repeat(120));
    fs::create_dir_all(&long_dir).unwrap();
    fs::write(long_dir.join("c".repeat(60)), b"deep").unwrap();
    fs::write(src.join("owned"), b"o").unwrap();
    rustix::fs::chown(
        src.join("owned"),
        Some(rustix::fs::Uid::from_raw(1234)),
        Some(rustix::fs::Gid::from_raw(5678)),
    )
    .unwrap();
    mknod(&src.join("fifo"), rustix::fs::FileType::Fifo, 0o640, 0, 0);
    mknod(
        &src.join("null"),
        rustix::fs::FileType::CharacterDevice,
        0o666,
        1,
        3,
    );
}

fn layer_of(src: &Path, c: Compression) -> (Vec<u8>, berth_layers::LayerDescriptor) {
    let opts = LayerOptions {
        compression: c,
        ..Default::default()
    };
    dir_diff_to_layer(None, src, Vec::new(), opts).unwrap()
}

#[test]
fn tree_round_trips_in_every_codec() {
    if !is_root() {
        eprintln!("skipped: needs root (chown, mknod)");
        return;
    }
    let src = tempfile::tempdir().unwrap();
    build_tree(src.path());
    let want = snapshot(src.path());
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let (blob, desc) = layer_of(src.path(), c);
        assert_eq!(desc.compression, c);
        assert_eq!(desc.size, blob.len() as u64);
        assert_eq!(desc.digest, berth_layers::digest::digest_bytes(&blob));
        let dst = tempfile::tempdir().unwrap();
        let stats = apply_layer(&blob[..], dst.path(), &ApplyOptions::default()).unwrap();
        assert_eq!(stats.diff_id, desc.diff_id, "{c}");
        let got = snapshot(dst.path());
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{c}"
        );
        for (k, v) in &want {
            assert_eq!(&got[k], v, "{c}: {}", k.display());
        }
        let a = fs::metadata(dst.path().join("hard-a")).unwrap();
        let b = fs::metadata(dst.path().join("hard-b")).unwrap();
        assert_eq!(a.ino(), b.ino(), "hardlink kept");
    }
}

#[test]
fn same_tree_gives_same_digest() {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir(src.path().join("d")).unwrap();
    fs::write(src.path().join("d/f"), b"hello").unwrap();
    symlink("d/f", src.path().join("l")).unwrap();
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let (a, da) = layer_of(src.path(), c);
        let (b, db) = layer_of(src.path(), c);
        assert_eq!(a, b);
        assert_eq!(da, db);
    }
    // With a fixed mtime, a copy of the tree made later gives the same layer too.
    let copy = tempfile::tempdir().unwrap();
    fs::create_dir(copy.path().join("d")).unwrap();
    fs::write(copy.path().join("d/f"), b"hello").unwrap();
    symlink("d/f", copy.path().join("l")).unwrap();
    for p in [src.path(), copy.path()] {
        set_mtime(&p.join("d/f"), 2_000_000_000);
        set_mtime(&p.join("d"), 1_900_000_000 + (p == copy.path()) as i64);
    }
    let opts = || LayerOptions {
        mtime: Some(1_000),
        ..Default::default()
    };
    let (_, a) = dir_diff_to_layer(None, src.path(), Vec::new(), opts()).unwrap();
    let (_, b) = dir_diff_to_layer(None, copy.path(), Vec::new(), opts()).unwrap();
    let (sa, sb) = (
        fs::symlink_metadata(src.path().join("l")).unwrap(),
        fs::symlink_metadata(copy.path().join("l")).unwrap(),
    );
    if sa.uid() == sb.uid() {
        assert_eq!(a.diff_id, b.diff_id);
    }
}

/// Entries come sorted by the name in the tree (a whiteout sits where its victim's name
/// sorts), parents first.
fn entry_names(layer: &[u8]) -> Vec<String> {
    let (_, r) = berth_layers::compression::decompress(layer).unwrap();
    let mut ar = tar::Archive::new(r);
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn overlay_upper_whiteouts_and_opaque_dirs() {
    if !is_root() {
        eprintln!("skipped: needs root (mknod, trusted xattrs)");
        return;
    }
    let up = tempfile::tempdir().unwrap();
    let u = up.path();
    mknod(
        &u.join("gone"),
        rustix::fs::FileType::CharacterDevice,
        0,
        0,
        0,
    );
    fs::create_dir(u.join("opq")).unwrap();
    xattr::set(u.join("opq"), "trusted.overlay.opaque", b"y").unwrap();
    fs::write(u.join("opq/new"), b"n").unwrap();
    fs::create_dir(u.join("plain")).unwrap();
    xattr::set(u.join("plain"), "user.overlay.opaque", b"y").unwrap();
    fs::write(u.join("file"), b"f").unwrap();
    fs::write(u.join("xw"), b"").unwrap();
    xattr::set(u.join("xw"), "trusted.overlay.whiteout", b"").unwrap();
    let (blob, _) = overlay_upper_to_layer(u, Vec::new(), LayerOptions::default()).unwrap();
    assert_eq!(
        entry_names(&blob),
        vec![
            "file",
            ".wh.gone",
            "opq/",
            "opq/.wh..wh..opq",
            "opq/new",
            "plain/",
            "plain/.wh..wh..opq",
            ".wh.xw"
        ]
    );
    // The overlay xattrs themselves never reach the layer.
    let (_, r) = berth_layers::compression::decompress(&blob[..]).unwrap();
    let mut ar = tar::Archive::new(r);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if let Some(ext) = e.pax_extensions().unwrap() {
            for rec in ext {
                assert!(!rec.unwrap().key().unwrap().contains("overlay"));
            }
        }
    }
}

fn whiteout_layer() -> Vec<u8> {
    tarball(&[
        raw_entry(b".wh.b", b'0', b"", b""),
        raw_entry(b"a/", b'5', b"", b""),
        raw_entry(b"a/new", b'0', b"new", b""),
        raw_entry(b"a/sub/", b'5', b"", b""),
        raw_entry(b"a/.wh..wh..opq", b'0', b"", b""),
    ])
}

#[test]
fn delete_mode_whiteouts_and_opaque_keep_same_layer_entries() {
    let s = Scratch::new();
    let r = s.root();
    fs::create_dir_all(r.join("a/sub")).unwrap();
    fs::write(r.join("a/old"), b"old").unwrap();
    fs::write(r.join("a/sub/lower"), b"lower").unwrap();
    fs::create_dir_all(r.join("b/deep")).unwrap();
    fs::write(r.join("keep"), b"k").unwrap();
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Delete,
        ..Default::default()
    };
    let stats = apply_layer(&whiteout_layer()[..], &r, &opts).unwrap();
    assert_eq!(stats.entries, 5);
    assert!(!r.join("b").exists());
    assert!(!r.join("a/old").exists());
    assert!(
        !r.join("a/sub/lower").exists(),
        "lower content of a re-declared dir is hidden"
    );
    assert!(r.join("a/sub").is_dir());
    assert_eq!(fs::read(r.join("a/new")).unwrap(), b"new");
    assert!(r.join("keep").exists());
    assert!(!r.join(".wh.b").exists() && !r.join("a/.wh..wh..opq").exists());
    s.assert_canary();
}

#[test]
fn overlay_mode_makes_char_devices_and_opaque_xattrs() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let s = Scratch::new();
    let r = s.root();
    fs::write(r.join("b"), b"lower b").unwrap();
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Overlay { user_xattr: false },
        ..Default::default()
    };
    apply_layer(&whiteout_layer()[..], &r, &opts).unwrap();
    let m = fs::symlink_metadata(r.join("b")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &m.file_type()
    ));
    assert_eq!(m.rdev(), 0);
    assert_eq!(
        xattr::get(r.join("a"), "trusted.overlay.opaque").unwrap(),
        Some(b"y".to_vec())
    );
    assert_eq!(fs::read(r.join("a/new")).unwrap(), b"new");

    let s2 = Scratch::new();
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Overlay { user_xattr: true },
        ..Default::default()
    };
    apply_layer(&whiteout_layer()[..], &s2.root(), &opts).unwrap();
    assert_eq!(
        xattr::get(s2.root().join("a"), "user.overlay.opaque").unwrap(),
        Some(b"y".to_vec())
    );
}

#[test]
fn dir_diff_emits_changes_and_whiteouts() {
    let lower = tempfile::tempdir().unwrap();
    let upper = tempfile::tempdir().unwrap();
    let (l, u) = (lower.path(), upper.path());
    for d in [l, u] {
        fs::create_dir(d.join("dir")).unwrap();
        fs::write(d.join("same"), b"same").unwrap();
        fs::write(d.join("dir/x"), b"x").unwrap();
        set_mtime(&d.join("same"), 1_500_000_000);
        set_mtime(&d.join("dir/x"), 1_500_000_000);
        set_mtime(&d.join("dir"), 1_500_000_000);
    }
    fs::write(l.join("changed"), b"old").unwrap();
    fs::write(u.join("changed"), b"new!").unwrap();
    fs::write(l.join("removed"), b"r").unwrap();
    fs::create_dir(l.join("was-dir")).unwrap();
    fs::write(l.join("was-dir/inner"), b"i").unwrap();
    fs::write(u.join("was-dir"), b"now a file").unwrap();
    fs::write(u.join("added"), b"a").unwrap();
    let (blob, _) = dir_diff_to_layer(Some(l), u, Vec::new(), LayerOptions::default()).unwrap();
    assert_eq!(
        entry_names(&blob),
        vec!["added", "changed", ".wh.removed", "was-dir"]
    );

    // Applying the diff over a copy of lower gives upper.
    let s = Scratch::new();
    fs::create_dir(s.root().join("dir")).unwrap();
    fs::write(s.root().join("dir/x"), b"x").unwrap();
    fs::write(s.root().join("same"), b"same").unwrap();
    fs::write(s.root().join("changed"), b"old").unwrap();
    fs::write(s.root().join("removed"), b"r").unwrap();
    fs::create_dir(s.root().join("was-dir")).unwrap();
    fs::write(s.root().join("was-dir/inner"), b"i").unwrap();
    apply_layer(&blob[..], &s.root(), &ApplyOptions::default()).unwrap();
    assert!(!s.root().join("removed").exists());
    assert_eq!(fs::read(s.root().join("changed")).unwrap(), b"new!");
    assert_eq!(fs::read(s.root().join("was-dir")).unwrap(), b"now a file");
    assert_eq!(fs::read(s.root().join("added")).unwrap(), b"a");
    s.assert_canary();
}

#[test]
fn tar_stream_import_and_absolute_names_land_inside() {
    let raw = tarball(&[
        raw_entry(b"/etc/", b'5', b"", b""),
        raw_entry(b"/etc/motd", b'0', b"hi", b""),
        raw_entry(b"./var/", b'5', b"", b""),
        raw_entry(b"var/run", b'2', b"", b"/run"),
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let gz = gz.finish().unwrap();
    let opts = LayerOptions {
        compression: Compression::Zstd,
        ..Default::default()
    };
    let (blob, desc) = tar_stream_to_layer(&gz[..], Vec::new(), opts).unwrap();
    assert_eq!(desc.media_type, Compression::Zstd.oci_layer_media_type());
    assert_eq!(
        entry_names(&blob),
        vec!["etc/", "etc/motd", "var/", "var/run"]
    );
    let s = Scratch::new();
    // The raw stream (absolute names) applies inside the root too, diff_id over all bytes.
    let stats = apply_layer(&raw[..], &s.root(), &ApplyOptions::default()).unwrap();
    assert_eq!(stats.diff_id, berth_layers::digest::digest_bytes(&raw));
    assert_eq!(stats.tar_bytes, raw.len() as u64);
    assert_eq!(fs::read(s.root().join("etc/motd")).unwrap(), b"hi");
    assert_eq!(
        fs::read_link(s.root().join("var/run")).unwrap(),
        Path::new("/run")
    );
    s.assert_canary();
}

#[test]
fn whiteouts_only_hide_lower_layers() {
    let s = Scratch::new();
    let r = s.root();
    fs::create_dir(r.join("dir")).unwrap();
    fs::write(r.join("dir/old"), b"old").unwrap();
    fs::write(r.join("lower"), b"l").unwrap();
    let layer = tarball(&[
        raw_entry(b"same", b'0', b"mine", b""),
        raw_entry(b".wh.same", b'0', b"", b""),
        raw_entry(b"dir/new", b'0', b"new", b""),
        raw_entry(b".wh.dir", b'0', b"", b""),
        raw_entry(b".wh.lower", b'0', b"", b""),
        raw_entry(b"missing/.wh.x", b'0', b"", b""),
    ]);
    apply_layer(&layer[..], &r, &ApplyOptions::default()).unwrap();
    assert_eq!(fs::read(r.join("same")).unwrap(), b"mine");
    assert_eq!(fs::read(r.join("dir/new")).unwrap(), b"new");
    assert!(!r.join("dir/old").exists());
    assert!(!r.join("lower").exists());
    assert!(
        !r.join("missing").exists(),
        "a whiteout does not create its directory"
    );
    s.assert_canary();
}

#[test]
fn layers_stack_like_an_image() {
    // layer 1 as written by LayerWriter, layer 2 an overlay upper diff over it.
    let base = tempfile::tempdir().unwrap();
    fs::create_dir_all(base.path().join("usr/lib")).unwrap();
    fs::write(base.path().join("usr/lib/a"), b"a").unwrap();
    fs::write(base.path().join("usr/lib/b"), b"b").unwrap();
    let (l1, d1) =
        dir_diff_to_layer(None, base.path(), Vec::new(), LayerOptions::default()).unwrap();
    let up = tempfile::tempdir().unwrap();
    fs::create_dir_all(up.path().join("usr/lib")).unwrap();
    fs::write(up.path().join("usr/lib/c"), b"c").unwrap();
    if is_root() {
        mknod(
            &up.path().join("usr/lib/a"),
            rustix::fs::FileType::CharacterDevice,
            0,
            0,
            0,
        );
    }
    let (l2, d2) = overlay_upper_to_layer(up.path(), Vec::new(), LayerOptions::default()).unwrap();
    let s = Scratch::new();
    assert_eq!(
        apply_layer(&l1[..], &s.root(), &ApplyOptions::default())
            .unwrap()
            .diff_id,
        d1.diff_id
    );
    assert_eq!(
        apply_layer(&l2[..], &s.root(), &ApplyOptions::default())
            .unwrap()
            .diff_id,
        d2.diff_id
    );
    assert_eq!(s.root().join("usr/lib/a").exists(), !is_root());
    assert!(s.root().join("usr/lib/b").exists());
    assert!(s.root().join("usr/lib/c").exists());
    s.assert_canary();
}

#[test]
fn unprivileged_apply_skips_ownership_but_keeps_the_tree() {
    let src = tempfile::tempdir().unwrap();
    let p = src.path();
    fs::create_dir(p.join("d")).unwrap();
    fs::write(p.join("d/f"), b"data").unwrap();
    fs::set_permissions(p.join("d/f"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(p.join("d"), fs::Permissions::from_mode(0o555)).unwrap();
    symlink("d/f", p.join("l")).unwrap();
    mknod(&p.join("pipe"), rustix::fs::FileType::Fifo, 0o600, 0, 0);
    let (blob, desc) = layer_of(p, Compression::Zstd);
    let s = Scratch::new();
    let opts = ApplyOptions {
        privileged: false,
        ..Default::default()
    };
    let stats = apply_layer(&blob[..], &s.root(), &opts).unwrap();
    assert_eq!(stats.diff_id, desc.diff_id);
    assert_eq!(stats.entries, 4);
    let r = s.root();
    assert_eq!(fs::read(r.join("d/f")).unwrap(), b"data");
    assert_eq!(fs::metadata(r.join("d/f")).unwrap().mode() & 0o7777, 0o640);
    assert_eq!(fs::metadata(r.join("d")).unwrap().mode() & 0o7777, 0o555);
    assert_eq!(fs::read_link(r.join("l")).unwrap(), Path::new("d/f"));
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::symlink_metadata(r.join("pipe")).unwrap().file_type()
    ));
    s.assert_canary();
}

#[test]
fn append_raw_reemits_a_parsed_entry_under_a_new_name() {
    use berth_layers::LayerWriter;
    let src = tarball(&[raw_entry(b"orig", b'0', b"payload", b"")]);
    let mut ar = tar::Archive::new(&src[..]);
    let opts = LayerOptions {
        compression: Compression::None,
        ..Default::default()
    };
    let mut w = LayerWriter::new(Vec::new(), opts).unwrap();
    let long = format!("renamed/{}", "n".repeat(200));
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header().clone();
        w.append_raw(&h, &long, e).unwrap();
    }
    let (out, desc) = w.finish().unwrap();
    assert_eq!(desc.digest, desc.diff_id);
    let mut ar = tar::Archive::new(&out[..]);
    let mut e = ar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.path().unwrap().to_str().unwrap(), long);
    assert_eq!(e.header().mtime().unwrap(), 1_000_000);
    let mut data = String::new();
    std::io::Read::read_to_string(&mut e, &mut data).unwrap();
    assert_eq!(data, "payload");
}

#[test]
fn gnu_long_names_from_tar_builder_apply() {
    let long = format!("{}/{}", "x".repeat(90), "y".repeat(90));
    let target = format!("/{}", "z".repeat(140));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o600);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(0);
    h.set_entry_type(tar::EntryType::Symlink);
    b.append_link(&mut h, "sym", &target).unwrap();
    let raw = b.into_inner().unwrap();
    let s = Scratch::new();
    let stats = apply_layer(&raw[..], &s.root(), &ApplyOptions::default()).unwrap();
    assert_eq!(
        stats.entries, 4,
        "two GNU long-name records and two entries"
    );
    assert_eq!(fs::read(s.root().join(&long)).unwrap(), b"abc");
    assert_eq!(
        fs::metadata(s.root().join(&long)).unwrap().mode() & 0o7777,
        0o600
    );
    assert_eq!(
        fs::read_link(s.root().join("sym")).unwrap(),
        Path::new(&target)
    );
    s.assert_canary();
}
