//! A revision's listing: `GET /api/models/{repo}/revision/{revision}?blobs=true`.

use serde::Deserialize;

use crate::{
    error::{Error, Result},
    repo::RepoId,
};

/// What a file's content must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// Files kept in Git LFS: the SHA-256 of the content (hex).
    Sha256(String),
    /// Other files: the Git blob id, SHA-1 of `blob {size}\0` + content (hex).
    GitBlob(String),
}

/// One file of a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Path within the repository (`config.json`).
    pub name: String,
    /// Size in bytes, when listed.
    pub size: Option<u64>,
    /// The checksum the content must match, when listed.
    pub checksum: Option<Checksum>,
}

/// A revision resolved to its commit, with its files.
#[derive(Debug, Clone)]
pub struct RepoRevision {
    /// The repository.
    pub repo: RepoId,
    /// The commit the revision names (40 hex digits); downloads are pinned to it.
    pub commit: String,
    /// Its files.
    pub files: Vec<RepoFile>,
}

impl RepoRevision {
    /// The file at `name`, if the revision has one.
    pub fn file(&self, name: &str) -> Option<&RepoFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

#[derive(Deserialize)]
struct Listing {
    sha: Option<String>,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    blob_id: Option<String>,
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    sha256: String,
    size: Option<u64>,
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A relative path without `..`, `.`, empty parts, backslashes or control characters:
/// it becomes a local file name.
fn safe_relative_path(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.chars().any(char::is_control)
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Reads the Hub's listing of a revision.
pub(crate) fn parse(repo: &RepoId, body: &[u8]) -> Result<RepoRevision> {
    let bad = |message: String| Error::Listing { repo: repo.to_string(), message };
    let listing: Listing = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let commit = listing.sha.ok_or_else(|| bad("no `sha`".into()))?.to_ascii_lowercase();
    if !is_hex(&commit, 40) {
        return Err(bad(format!("`sha` {commit:?} is not a commit id")));
    }
    let mut files = Vec::with_capacity(listing.siblings.len());
    for sibling in listing.siblings {
        if !safe_relative_path(&sibling.rfilename) {
            return Err(bad(format!("file name {:?} is not a plain relative path", sibling.rfilename)));
        }
        let checksum = match (sibling.lfs.as_ref(), sibling.blob_id) {
            (Some(lfs), _) if is_hex(&lfs.sha256, 64) => Some(Checksum::Sha256(lfs.sha256.to_ascii_lowercase())),
            (Some(lfs), _) => {
                return Err(bad(format!("{}: lfs.sha256 {:?} is not hex", sibling.rfilename, lfs.sha256)))
            }
            (None, Some(blob)) if is_hex(&blob, 40) => Some(Checksum::GitBlob(blob.to_ascii_lowercase())),
            (None, _) => None,
        };
        let size = sibling.lfs.as_ref().and_then(|l| l.size).or(sibling.size);
        files.push(RepoFile { name: sibling.rfilename, size, checksum });
    }
    Ok(RepoRevision { repo: repo.clone(), commit, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> RepoId {
        RepoId::parse("NeoQuasar/Kronos-small").unwrap()
    }

    #[test]
    fn reads_the_documented_listing() {
        let body = serde_json::json!({
            "_id": "x", "id": "NeoQuasar/Kronos-small", "sha": "A".repeat(40),
            "siblings": [
                {"rfilename": ".gitattributes", "blobId": "b".repeat(40), "size": 1519},
                {"rfilename": "config.json", "blobId": "c".repeat(40), "size": 213},
                {"rfilename": "model.safetensors", "blobId": "d".repeat(40), "size": 99,
                 "lfs": {"sha256": "E".repeat(64), "size": 98_000_000, "pointerSize": 134}},
                {"rfilename": "README.md"}
            ]
        });
        let rev = parse(&repo(), body.to_string().as_bytes()).unwrap();
        assert_eq!(rev.commit, "a".repeat(40));
        assert_eq!(rev.file("config.json").unwrap().checksum, Some(Checksum::GitBlob("c".repeat(40))));
        let weights = rev.file("model.safetensors").unwrap();
        assert_eq!(weights.checksum, Some(Checksum::Sha256("e".repeat(64))));
        assert_eq!(weights.size, Some(98_000_000), "the LFS object's size, not the pointer's");
        assert_eq!(rev.file("README.md").unwrap().checksum, None);
        assert!(rev.file("nope").is_none());
    }

    #[test]
    fn refuses_what_could_escape_the_download_folder_or_is_not_the_format() {
        for name in ["../x", "/etc/passwd", "a/../../x", "a\\b", "a//b", "./x", ""] {
            let body = serde_json::json!({"sha": "a".repeat(40), "siblings": [{"rfilename": name}]});
            assert!(parse(&repo(), body.to_string().as_bytes()).is_err(), "{name:?} accepted");
        }
        for body in [
            serde_json::json!({"siblings": []}),
            serde_json::json!({"sha": "main", "siblings": []}),
            serde_json::json!({"sha": "a".repeat(40), "siblings": [{"rfilename": "m", "lfs": {"sha256": "zz"}}]}),
        ] {
            assert!(parse(&repo(), body.to_string().as_bytes()).is_err(), "{body} accepted");
        }
        assert!(parse(&repo(), b"<html>").is_err());
    }
}
