//! Resumable downloads of one file of a revision, checked before they take their name.

use std::path::{Path, PathBuf};

use reqwest::{header, StatusCode};
use sha1::Digest as _;
use tokio::io::AsyncWriteExt;

use crate::{
    client::{retryable, HubClient, Target},
    error::{io, Error, Result},
    listing::{Checksum, RepoFile, RepoRevision},
};

/// A file on disk, checked against the listing.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Bytes fetched by this call (0 when an earlier complete download was reused).
    pub fetched: u64,
    /// Where this call resumed an earlier partial download, if it did.
    pub resumed_from: Option<u64>,
    /// Whether the listing had a checksum for it (files without one are checked by size).
    pub checksummed: bool,
}

/// Progress of one file: bytes on disk, and the size when known.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, Option<u64>) + Send);

impl HubClient {
    /// Downloads `file` of `revision` into `dir` (as `dir/<file name>`), resuming a
    /// `.part` file left by an earlier attempt, retrying dropped connections and server
    /// errors (the count restarts whenever a try made progress), then checking size and
    /// checksum. A complete file already there is checked and reused. A file that does
    /// not match is deleted and the call fails.
    pub async fn download(
        &self,
        revision: &RepoRevision,
        file: &RepoFile,
        dir: &Path,
        progress: Progress<'_>,
    ) -> Result<Downloaded> {
        let target = dir.join(&file.name);
        let part = dir.join(format!("{}.part", file.name));
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| io(parent, e))?;
        }
        if tokio::fs::metadata(&target).await.is_ok() {
            if let Ok(bytes) = verify(&target, file).await {
                progress(bytes, Some(bytes));
                return Ok(Downloaded {
                    path: target,
                    bytes,
                    fetched: 0,
                    resumed_from: None,
                    checksummed: file.checksum.is_some(),
                });
            }
            tokio::fs::remove_file(&target).await.map_err(|e| io(&target, e))?;
        }
        let what = format!("{} of {}@{}", file.name, revision.repo, revision.commit);
        let mut resumed_from = None;
        let mut fetched = 0u64;
        let mut failures = 0;
        loop {
            let mut offset = part_len(&part).await;
            if file.size.is_some_and(|size| offset > size) {
                truncate(&part).await?;
                offset = 0;
            }
            if offset > 0 && Some(offset) == file.size {
                break;
            }
            let before = fetched;
            match self.fetch(revision, file, &part, offset, &mut fetched, progress).await {
                Ok(Fetch::Complete { resumed }) => {
                    if resumed && resumed_from.is_none() {
                        resumed_from = Some(offset);
                    }
                    break;
                }
                Ok(Fetch::Restart) => {}
                Err(error) => {
                    if fetched > before && offset > 0 && resumed_from.is_none() {
                        resumed_from = Some(offset);
                    }
                    failures = if fetched > before { 1 } else { failures + 1 };
                    if !retryable(&error) {
                        return Err(error);
                    }
                    if failures >= self.retries.attempts {
                        let kept = part_len(&part).await;
                        return Err(if kept > 0 {
                            Error::Interrupted { file: what.clone(), message: error.to_string(), kept }
                        } else {
                            error
                        });
                    }
                    tokio::time::sleep(self.wait(failures)).await;
                }
            }
        }
        match verify(&part, file).await {
            Ok(bytes) => {
                tokio::fs::rename(&part, &target).await.map_err(|e| io(&target, e))?;
                Ok(Downloaded { path: target, bytes, fetched, resumed_from, checksummed: file.checksum.is_some() })
            }
            Err(error) => {
                let _ = tokio::fs::remove_file(&part).await;
                Err(error)
            }
        }
    }

    /// One try: asks for the bytes from `offset` and appends them to `part`.
    async fn fetch(
        &self,
        revision: &RepoRevision,
        file: &RepoFile,
        part: &Path,
        offset: u64,
        fetched: &mut u64,
        progress: Progress<'_>,
    ) -> Result<Fetch> {
        let what = || format!("downloading {}", file.name);
        let url = self.resolve_url(&revision.repo, &revision.commit, &file.name);
        let mut request = self.get(&url).header(header::ACCEPT_ENCODING, "identity");
        if offset > 0 {
            request = request.header(header::RANGE, format!("bytes={offset}-"));
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Error::Transport { what: what(), message: e.without_url().to_string() })?;
        let status = response.status();
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            truncate(part).await?;
            return Ok(Fetch::Restart);
        }
        if !status.is_success() {
            let target = Target::File { commit: &revision.commit, name: &file.name };
            return Err(self.refusal(&revision.repo, target, response).await);
        }
        check_linked_etag(file, response.headers())?;
        let resumed = status == StatusCode::PARTIAL_CONTENT;
        let mut position = offset;
        if resumed {
            if content_range_start(response.headers()) != Some(offset) {
                truncate(part).await?;
                return Ok(Fetch::Restart);
            }
        } else {
            position = 0;
        }
        let handle = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(part)
            .await
            .map_err(|e| io(part, e))?;
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, handle);
        let outcome = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    out.write_all(&chunk).await.map_err(|e| io(part, e))?;
                    position += chunk.len() as u64;
                    *fetched += chunk.len() as u64;
                    progress(position, file.size);
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(Error::Transport { what: what(), message: e.without_url().to_string() }),
            }
        };
        out.flush().await.map_err(|e| io(part, e))?;
        out.get_ref().sync_all().await.map_err(|e| io(part, e))?;
        outcome?;
        if file.size.is_some_and(|size| position < size) {
            return Err(Error::Transport {
                what: what(),
                message: format!("the connection ended at byte {position} of {}", file.size.unwrap_or_default()),
            });
        }
        Ok(Fetch::Complete { resumed })
    }
}

/// What one try achieved.
enum Fetch {
    /// Every byte arrived.
    Complete { resumed: bool },
    /// The server could not serve the range; start again from byte 0.
    Restart,
}

async fn part_len(part: &Path) -> u64 {
    tokio::fs::metadata(part).await.map(|m| m.len()).unwrap_or(0)
}

async fn truncate(part: &Path) -> Result<()> {
    match tokio::fs::remove_file(part).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(part, e)),
        _ => Ok(()),
    }
}

/// `Content-Range: bytes <start>-<end>/<total>` → start.
fn content_range_start(headers: &header::HeaderMap) -> Option<u64> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    value.strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// For LFS files the Hub names the content's SHA-256 in `X-Linked-Etag`; a different
/// one means the server is about to send another file than the listing described.
fn check_linked_etag(file: &RepoFile, headers: &header::HeaderMap) -> Result<()> {
    let (Some(Checksum::Sha256(expected)), Some(value)) = (&file.checksum, headers.get("x-linked-etag")) else {
        return Ok(());
    };
    let linked = value.to_str().unwrap_or_default().trim_start_matches("W/").trim_matches('"').to_ascii_lowercase();
    if &linked == expected {
        Ok(())
    } else {
        Err(Error::Corrupt { file: file.name.clone(), kind: "linked etag", expected: expected.clone(), actual: linked })
    }
}

/// Size, then checksum, of a file on disk against the listing; its size when it holds.
async fn verify(path: &Path, file: &RepoFile) -> Result<u64> {
    let path_owned = path.to_owned();
    let checksum = file.checksum.clone();
    let (bytes, digest) = tokio::task::spawn_blocking(move || hash_file(&path_owned, checksum.as_ref()))
        .await
        .map_err(|e| Error::Io { path: path.display().to_string(), message: e.to_string() })??;
    if let Some(size) = file.size.filter(|size| *size != bytes) {
        return Err(Error::Corrupt {
            file: file.name.clone(),
            kind: "size",
            expected: size.to_string(),
            actual: bytes.to_string(),
        });
    }
    match (&file.checksum, digest) {
        (Some(Checksum::Sha256(expected)), Some(actual)) if *expected != actual => {
            Err(Error::Corrupt { file: file.name.clone(), kind: "sha256", expected: expected.clone(), actual })
        }
        (Some(Checksum::GitBlob(expected)), Some(actual)) if *expected != actual => {
            Err(Error::Corrupt { file: file.name.clone(), kind: "git blob id", expected: expected.clone(), actual })
        }
        _ => Ok(bytes),
    }
}

/// Reads a file once: its length, and the digest its checksum kind asks for.
fn hash_file(path: &Path, checksum: Option<&Checksum>) -> Result<(u64, Option<String>)> {
    use std::io::Read;
    let mut handle = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let len = handle.metadata().map_err(|e| io(path, e))?.len();
    let mut buffer = vec![0u8; 1 << 20];
    let mut feed = |update: &mut dyn FnMut(&[u8])| -> Result<()> {
        loop {
            let n = handle.read(&mut buffer).map_err(|e| io(path, e))?;
            if n == 0 {
                return Ok(());
            }
            update(&buffer[..n]);
        }
    };
    let digest = match checksum {
        None => None,
        Some(Checksum::Sha256(_)) => {
            let mut hasher = sha2::Sha256::new();
            feed(&mut |bytes| hasher.update(bytes))?;
            Some(hex::encode(hasher.finalize()))
        }
        Some(Checksum::GitBlob(_)) => {
            let mut hasher = sha1::Sha1::new();
            hasher.update(format!("blob {len}\0").as_bytes());
            feed(&mut |bytes| hasher.update(bytes))?;
            Some(hex::encode(hasher.finalize()))
        }
    };
    Ok((len, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_ids_and_sha256_are_computed_as_git_and_lfs_do() {
        let dir = std::env::temp_dir().join(format!("kronos-hub-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hello.txt");
        std::fs::write(&path, b"hello\n").unwrap();
        // `printf 'hello\n' | git hash-object --stdin`, `sha256sum`
        let (len, blob) = hash_file(&path, Some(&Checksum::GitBlob(String::new()))).unwrap();
        assert_eq!((len, blob.as_deref()), (6, Some("ce013625030ba8dba906f756967f9e9ca394464a")));
        let (_, sha) = hash_file(&path, Some(&Checksum::Sha256(String::new()))).unwrap();
        assert_eq!(sha.as_deref(), Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn content_ranges_and_linked_etags_are_read_as_documented() {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, "bytes 100-199/200".parse().unwrap());
        assert_eq!(content_range_start(&headers), Some(100));
        let file = RepoFile { name: "m".into(), size: None, checksum: Some(Checksum::Sha256("ab".repeat(32))) };
        headers.insert("x-linked-etag", format!("\"{}\"", "AB".repeat(32)).parse().unwrap());
        assert!(check_linked_etag(&file, &headers).is_ok());
        headers.insert("x-linked-etag", "\"0000\"".parse().unwrap());
        assert!(matches!(check_linked_etag(&file, &headers), Err(Error::Corrupt { kind: "linked etag", .. })));
    }
}
