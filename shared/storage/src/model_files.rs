//! Moving a model's weight directories (Hugging Face layout) between the local disk
//! and the object store.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, Result},
    ModelFileName, ModelPart, Storage, StorageKey,
};

/// A model's two local directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDirs {
    /// The tokenizer's directory.
    pub tokenizer: PathBuf,
    /// The predictor's directory.
    pub predictor: PathBuf,
}

impl ModelDirs {
    /// `root/tokenizer` and `root/predictor`.
    pub fn under(root: &Path) -> Self {
        Self {
            tokenizer: root.join(ModelPart::Tokenizer.as_str()),
            predictor: root.join(ModelPart::Predictor.as_str()),
        }
    }
}

/// Uploads both directories under `prefix`; returns the SHA-256 over the two weight files.
pub async fn upload(storage: &Storage, prefix: &str, dirs: &ModelDirs) -> Result<String> {
    let parts = vec![(ModelPart::Tokenizer, dirs.tokenizer.clone()), (ModelPart::Predictor, dirs.predictor.clone())];
    upload_dirs(storage, prefix, parts).await
}

/// Uploads `root/<part>/` for each part under `prefix`; returns the SHA-256 over the
/// weight files.
pub async fn upload_parts(storage: &Storage, prefix: &str, root: &Path, parts: &[ModelPart]) -> Result<String> {
    let dirs: Vec<(ModelPart, PathBuf)> = parts.iter().map(|p| (*p, root.join(p.as_str()))).collect();
    upload_dirs(storage, prefix, dirs).await
}

/// Uploads `config.json` and `model.safetensors` of each part's directory; returns the
/// SHA-256 over the weight files' digests.
async fn upload_dirs(storage: &Storage, prefix: &str, parts: Vec<(ModelPart, PathBuf)>) -> Result<String> {
    let mut digest = Sha256::new();
    for (part, dir) in parts {
        for file in ModelFileName::ALL {
            let path = dir.join(file.as_str());
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| Error::Data(format!("cannot read {}: {e}", path.display())))?;
            let stored = storage
                .put(&StorageKey::ModelFile { prefix: prefix.to_owned(), part, file }, Bytes::from(bytes))
                .await?;
            if file == ModelFileName::Weights {
                digest.update(stored.sha256.as_bytes());
            }
        }
    }
    Ok(hex::encode(digest.finalize()))
}

/// Makes sure `root` holds the Kronos model stored under `prefix`, downloading it once.
pub async fn ensure_local(storage: &Storage, prefix: &str, root: &Path) -> Result<ModelDirs> {
    ensure_local_parts(storage, prefix, root, &ModelPart::ALL).await?;
    Ok(ModelDirs::under(root))
}

/// Makes sure `root` holds the given parts of the model stored under `prefix`,
/// downloading them once.
/// Files land in a temporary directory that is renamed into place, so a crash never
/// leaves a half-written model behind.
pub async fn ensure_local_parts(storage: &Storage, prefix: &str, root: &Path, parts: &[ModelPart]) -> Result<()> {
    if tokio::fs::try_exists(root.join(".complete")).await.unwrap_or(false) {
        return Ok(());
    }
    let staging = root.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
    let io = |e: std::io::Error| Error::Data(format!("model cache {}: {e}", staging.display()));
    for part in parts {
        tokio::fs::create_dir_all(staging.join(part.as_str())).await.map_err(io)?;
        for file in ModelFileName::ALL {
            let bytes = storage.get(&StorageKey::ModelFile { prefix: prefix.to_owned(), part: *part, file }).await?;
            tokio::fs::write(staging.join(part.as_str()).join(file.as_str()), &bytes).await.map_err(io)?;
        }
    }
    tokio::fs::write(staging.join(".complete"), b"").await.map_err(io)?;
    if let Some(parent) = root.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    match tokio::fs::rename(&staging, root).await {
        Ok(()) => Ok(()),
        // another task finished first: use its copy
        Err(_) if tokio::fs::try_exists(root.join(".complete")).await.unwrap_or(false) => {
            let _ = tokio::fs::remove_dir_all(&staging).await;
            Ok(())
        }
        Err(e) => Err(io(e)),
    }
}

/// The object-store paths of the model stored under `prefix` (its `parts`) that do not
/// exist; empty when every file is there.
pub async fn missing(storage: &Storage, prefix: &str, parts: &[ModelPart]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for part in parts {
        for file in ModelFileName::ALL {
            let key = StorageKey::ModelFile { prefix: prefix.to_owned(), part: *part, file };
            if !storage.exists(&key).await? {
                out.push(key.path());
            }
        }
    }
    Ok(out)
}
