//! PAX extended header records, `"<len> <key>=<value>\n"`, where `<len>` counts the whole
//! record in bytes. Values are binary (an xattr's bytes, such as `security.capability`, may
//! hold a newline), so records are read by their length: the `tar` crate's
//! `PaxExtensions` splits at every newline instead and calls such a record malformed.

/// The path and link name of an entry the `tar` crate parsed, as GNU tar and Python's
/// tarfile read them: a PAX `path` or `linkpath` record wins over a GNU long name. The
/// `tar` crate prefers the GNU name when an archive carries both, so a layer could show one
/// name to a scanner and another to berth (GHSA-3cv2-h65g-fgmm's class). Every reader of
/// untrusted tars that goes through `tar::Entry` takes its names from here; layer apply reads
/// the records itself (`apply.rs`) with the same rule.
pub fn entry_names<R: std::io::Read>(
    entry: &mut tar::Entry<'_, R>,
) -> std::io::Result<(Vec<u8>, Option<Vec<u8>>)> {
    let mut path = entry.path_bytes().into_owned();
    let mut link = entry.link_name_bytes().map(|l| l.into_owned());
    if entry.header().entry_type().is_pax_local_extensions()
        || entry.header().entry_type().is_pax_global_extensions()
    {
        return Ok((path, link));
    }
    if let Some(ext) = entry.pax_extensions()? {
        for rec in ext {
            let rec = rec?;
            match rec.key_bytes() {
                b"path" => path = rec.value_bytes().to_vec(),
                b"linkpath" => link = Some(rec.value_bytes().to_vec()),
                _ => {}
            }
        }
    }
    Ok((path, link))
}

/// The body of a PAX header holding `records`.
pub fn body(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(k);
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out
}

/// The `(key, value)` records of a PAX header body, read by their lengths. Trailing NUL
/// padding ends the body; a record whose length does not fit is an error.
pub fn records(mut buf: &[u8]) -> impl Iterator<Item = Result<(&[u8], &[u8]), String>> {
    std::iter::from_fn(move || {
        if buf.is_empty() || buf[0] == 0 {
            return None;
        }
        let r = record(buf);
        match r {
            Ok((rec, rest)) => {
                buf = rest;
                Some(Ok(rec))
            }
            Err(e) => {
                buf = &[];
                Some(Err(e))
            }
        }
    })
}

type Record<'a> = (&'a [u8], &'a [u8]);

fn record(buf: &[u8]) -> Result<(Record<'_>, &[u8]), String> {
    let space = buf
        .iter()
        .take(20)
        .position(|&b| b == b' ')
        .ok_or("a record without a length")?;
    let len: usize = std::str::from_utf8(&buf[..space])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("a record with a bad length")?;
    if len <= space + 1 || len > buf.len() || buf[len - 1] != b'\n' {
        return Err(format!("a record of length {len} that does not fit"));
    }
    let kv = &buf[space + 1..len - 1];
    let eq = kv
        .iter()
        .position(|&b| b == b'=')
        .ok_or("a record without '='")?;
    Ok(((&kv[..eq], &kv[eq + 1..]), &buf[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lengths_count_themselves() {
        let b = body(&[(b"path".to_vec(), vec![b'a'; 5])]);
        assert_eq!(b, b"14 path=aaaaa\n");
        let b = body(&[(b"path".to_vec(), vec![b'a'; 93])]);
        assert_eq!(b.len(), 103);
        assert!(b.starts_with(b"103 path="));
    }

    #[test]
    fn binary_values_with_newlines_round_trip() {
        let recs = vec![
            (
                b"SCHILY.xattr.security.capability".to_vec(),
                vec![1, 0, b'\n', 2, b'=', 0],
            ),
            (b"path".to_vec(), b"a\nb".to_vec()),
            (b"SCHILY.xattr.user.empty".to_vec(), Vec::new()),
        ];
        let mut b = body(&recs);
        b.extend_from_slice(&[0; 7]); // block padding
        let back: Vec<_> = records(&b)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, recs);
    }

    #[test]
    fn bad_lengths_are_errors() {
        for bad in [
            &b"99 path=a\n"[..],
            b"x path=a\n",
            b"9 patha\n",
            b"5 p=a\n",
            b"no-space",
        ] {
            let r: Vec<_> = records(bad).collect();
            assert!(
                r.iter().any(|x| x.is_err()),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
