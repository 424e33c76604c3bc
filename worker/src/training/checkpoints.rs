//! A training job's checkpoints in the object store.
//!
//! Each checkpoint is a numbered generation (`checkpoints/{job}/{n}/…`); once all its
//! files are stored, the `latest` pointer is rewritten to `n` and the previous
//! generation is deleted. A crash mid-upload leaves the pointer on the previous
//! complete generation, so a resumed job never reads a half-written checkpoint.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::error::Result;
use bytes::Bytes;
use kronos_storage::{Storage, StorageKey, StoragePrefix};
use uuid::Uuid;

/// The checkpoints of one job.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    storage: Storage,
    job_id: Uuid,
}

impl CheckpointStore {
    /// The store of `job_id`'s checkpoints.
    pub fn new(storage: Storage, job_id: Uuid) -> Self {
        Self { storage, job_id }
    }

    /// The latest complete generation, if any.
    pub async fn latest(&self) -> Result<Option<u64>> {
        match self.storage.get(&StorageKey::CheckpointLatest { job_id: self.job_id }).await {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                text.trim().parse().map(Some).map_err(|_| Error::Data(format!("bad checkpoint pointer {text:?}")))
            }
            Err(kronos_storage::Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the checkpoint in `dir` as the next generation and points `latest` at it.
    pub async fn save(&self, dir: &Path) -> Result<u64> {
        let previous = self.latest().await?;
        let generation = previous.map_or(1, |g| g + 1);
        for (relative, path) in files(dir)? {
            let bytes = tokio::fs::read(&path).await.map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
            let key = StorageKey::CheckpointFile { job_id: self.job_id, generation, file: relative };
            self.storage.put(&key, Bytes::from(bytes)).await?;
        }
        self.storage
            .put(&StorageKey::CheckpointLatest { job_id: self.job_id }, Bytes::from(generation.to_string()))
            .await?;
        if let Some(old) = previous {
            self.storage
                .delete_prefix(&StoragePrefix::CheckpointGeneration { job_id: self.job_id, generation: old })
                .await?;
        }
        Ok(generation)
    }

    /// Downloads the latest generation into `dir`; `None` when there is none.
    pub async fn restore(&self, dir: &Path) -> Result<Option<u64>> {
        let Some(generation) = self.latest().await? else { return Ok(None) };
        let folder = StoragePrefix::CheckpointGeneration { job_id: self.job_id, generation };
        let prefix = format!("{}/", folder.path());
        let paths = self.storage.list_prefix(&folder).await?;
        if paths.is_empty() {
            return Err(Error::Data(format!("checkpoint generation {generation} of job {} is empty", self.job_id)));
        }
        for path in paths {
            let relative = path.strip_prefix(&prefix).unwrap_or(&path).to_owned();
            if relative.split('/').any(|part| part.is_empty() || part == "..") {
                return Err(Error::Data(format!("unexpected checkpoint object {path}")));
            }
            let bytes = self.storage.get_path(&path).await?;
            let target = dir.join(&relative);
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| Error::Data(format!("{}: {e}", parent.display())))?;
            }
            tokio::fs::write(&target, &bytes).await.map_err(|e| Error::Data(format!("{}: {e}", target.display())))?;
        }
        Ok(Some(generation))
    }

    /// Deletes every checkpoint of the job (after it succeeded).
    pub async fn delete_all(&self) -> Result<usize> {
        Ok(self.storage.delete_prefix(&StoragePrefix::Checkpoints { job_id: self.job_id }).await?)
    }
}

/// Every file under `dir` with its path relative to `dir` ('/'-separated).
fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| Error::Data(format!("{}: {e}", current.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::Data(e.to_string()))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let relative =
                    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push((relative, path));
            }
        }
    }
    out.sort();
    Ok(out)
}
