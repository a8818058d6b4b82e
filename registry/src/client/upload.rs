//! Blob uploads: one streamed PUT, or the chunked PATCH upload a registry asks for.

use super::*;

impl Client {
    /// Upload a blob of `size` bytes read from `reader`: POST to start, then one streamed
    /// PUT with `?digest=`. The registry verifies the digest.
    pub fn upload_blob(
        &self,
        repo: &str,
        digest: &Digest,
        size: u64,
        reader: &mut (dyn Read + Send),
    ) -> Result<()> {
        let start = format!("{}/v2/{repo}/blobs/uploads/", self.base());
        let (location, chunk_min) = self.rt.block_on(async {
            let resp = self
                .send(Method::POST, &start, &scope(repo, true), |r| {
                    r.header(CONTENT_LENGTH, "0")
                })
                .await?;
            if resp.status() != StatusCode::ACCEPTED {
                return Err(status_err(&Method::POST, &start, resp).await);
            }
            let loc = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| RegistryError::Invalid {
                    what: start.clone(),
                    message: "upload started without a Location".into(),
                })?;
            let url = url::Url::parse(&start)
                .and_then(|b| b.join(loc))
                .map_err(|e| RegistryError::Invalid {
                    what: start.clone(),
                    message: format!("bad upload Location {loc:?}: {e}"),
                })?;
            let chunk_min = resp
                .headers()
                .get("OCI-Chunk-Min-Length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            Ok((url, chunk_min))
        })?;
        if let Some(min) = chunk_min {
            return self.upload_chunked(repo, digest, location, min, reader);
        }
        let mut location = location;
        location
            .query_pairs_mut()
            .append_pair("digest", digest.as_ref());
        let put_url = location.to_string();
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        // Sent once (no redirect is followed: the stream cannot be replayed).
        let body = Mutex::new(Some(reqwest::Body::wrap_stream(stream)));
        let take_body = || body.lock().ok().and_then(|mut b| b.take());
        let build = |r: reqwest::RequestBuilder| {
            let r = r
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size.to_string());
            match take_body() {
                Some(b) => r.body(b),
                None => r,
            }
        };
        let scope = scope(repo, true);
        let read_error = std::thread::scope(|s| {
            let feeder = s.spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) => return None,
                        Ok(n) => {
                            if tx
                                .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                                .is_err()
                            {
                                return None;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            // The request only needs to fail; the caller gets `e` itself.
                            let _ =
                                tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
                            return Some(e);
                        }
                    }
                }
            });
            let result = self.rt.block_on(async {
                let resp = self
                    .execute(
                        &Method::PUT,
                        &put_url,
                        Purpose::Registry,
                        &scope,
                        false,
                        &build,
                    )
                    .await?
                    .resp;
                if resp.status() != StatusCode::CREATED {
                    return Err(status_err(&Method::PUT, &put_url, resp).await);
                }
                Ok(())
            });
            // A request that never went out still holds the stream: let the feeder stop.
            drop(take_body());
            let fed = feeder.join().ok().flatten();
            (result, fed)
        });
        match read_error {
            (_, Some(source)) => Err(RegistryError::ReadBlob {
                digest: digest.to_string(),
                source,
            }),
            (r, None) => r,
        }
    }

    /// The chunked upload a registry asks for with `OCI-Chunk-Min-Length`: PATCH chunks of
    /// at least that size (at least [`CHUNK_SIZE`]) with `Content-Range`, following each new
    /// `Location`, then PUT `?digest=` with no body. One chunk is buffered at a time.
    fn upload_chunked(
        &self,
        repo: &str,
        digest: &Digest,
        mut location: url::Url,
        min: u64,
        reader: &mut (dyn Read + Send),
    ) -> Result<()> {
        let what = format!("blob {digest}");
        if min > MAX_CHUNK {
            return Err(RegistryError::Invalid {
                what,
                message: format!(
                    "the registry asks for chunks of at least {min} bytes, more than the {MAX_CHUNK} berth buffers"
                ),
            });
        }
        let chunk = min.max(CHUNK_SIZE) as usize;
        let mut buf = vec![0u8; chunk];
        let mut offset = 0u64;
        let scope = scope(repo, true);
        loop {
            let mut n = 0;
            while n < chunk {
                match reader.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(RegistryError::ReadBlob {
                            digest: digest.to_string(),
                            source,
                        })
                    }
                }
            }
            if n == 0 {
                break;
            }
            let body = Bytes::copy_from_slice(&buf[..n]);
            let url = location.to_string();
            let range = format!("{offset}-{}", offset + n as u64 - 1);
            location = self.rt.block_on(async {
                let resp = self
                    .send(Method::PATCH, &url, &scope, |r| {
                        r.header(CONTENT_TYPE, "application/octet-stream")
                            .header(CONTENT_LENGTH, n.to_string())
                            .header("Content-Range", range.as_str())
                            .body(body.clone())
                    })
                    .await?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(status_err(&Method::PATCH, &url, resp).await);
                }
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| location.join(l).ok());
                Ok(next.unwrap_or_else(|| location.clone()))
            })?;
            offset += n as u64;
            if n < chunk {
                break;
            }
        }
        location
            .query_pairs_mut()
            .append_pair("digest", digest.as_ref());
        let url = location.to_string();
        self.rt.block_on(async {
            let resp = self
                .send(Method::PUT, &url, &scope, |r| r.header(CONTENT_LENGTH, "0"))
                .await?;
            if resp.status() != StatusCode::CREATED {
                return Err(status_err(&Method::PUT, &url, resp).await);
            }
            Ok(())
        })
    }
}
