//! Registered models on this worker's disk: registry rows are looked up once (models
//! are immutable) and their weights are downloaded from the object store on first use.

use std::{collections::HashMap, path::PathBuf, sync::Arc};

use crate::error::Error;
use crate::error::Result;
use kronos_db::{models, DbPool};
use kronos_storage::{model_files, model_files::ModelDirs, Storage};
use tokio::sync::Mutex;

/// A registered model available on local disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    /// Registry id.
    pub id: i64,
    /// Its tokenizer and predictor directories.
    pub dirs: ModelDirs,
}

/// Resolves registry ids to local weight directories.
pub struct ModelLibrary {
    pool: DbPool,
    storage: Storage,
    cache_dir: PathBuf,
    known: Mutex<HashMap<i64, Arc<LocalModel>>>,
}

impl ModelLibrary {
    /// Weights are kept under `cache_dir/{id}`.
    pub fn new(pool: DbPool, storage: Storage, cache_dir: PathBuf) -> Self {
        Self { pool, storage, cache_dir, known: Mutex::new(HashMap::new()) }
    }

    /// The local directory of a registered model of any family (`root/<part>/` per
    /// part), downloading it when needed.
    pub async fn local_files(&self, row: &models::RegisteredModel) -> Result<PathBuf> {
        let root = self.cache_dir.join(row.id.to_string());
        let parts = kronos_storage::ModelPart::of_family(row.family);
        model_files::ensure_local_parts(&self.storage, &row.storage_prefix, &root, parts).await?;
        Ok(root)
    }

    /// The local copy of model `id`, downloading it when needed. Concurrent callers for
    /// the same model wait for one download.
    pub async fn local(&self, id: i64) -> Result<Arc<LocalModel>> {
        let mut known = self.known.lock().await;
        if let Some(model) = known.get(&id) {
            return Ok(Arc::clone(model));
        }
        let row = {
            let mut conn = self.pool.get().await?;
            models::find(&mut conn, id).await?.ok_or_else(|| Error::NotFound(format!("model {id}")))?
        };
        let dirs = model_files::ensure_local(&self.storage, &row.storage_prefix, &self.cache_dir.join(id.to_string()))
            .await
            .map_err(|e| match e {
                // a clear, permanent error: retrying cannot bring the files back
                kronos_storage::Error::NotFound(what) => Error::invalid(
                    "model",
                    format!(
                        "the weights of registered model {} are missing from the object store ({what} in {}); it was probably registered with another storage configuration: delete it and register it again",
                        row.name,
                        self.storage.describe()
                    ),
                ),
                other => other.into(),
            })?;
        let model = Arc::new(LocalModel { id, dirs });
        known.insert(id, Arc::clone(&model));
        Ok(model)
    }
}
