//! Kronos platform: the object store (local filesystem by default, S3/MinIO when
//! configured), the [`StorageKey`] enum that owns every path in it, and the files of
//! registered models.

use std::{fmt, sync::Arc};

use bytes::Bytes;
use object_store::{aws::AmazonS3Builder, local::LocalFileSystem, path::Path, ObjectStore, PutPayload};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use kronos_config::StorageConfig;
use kronos_types::registry::ModelFamily;

pub mod error;
pub mod model_files;

pub use error::{Error, Result};

/// Every object the platform writes, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKey {
    /// The full forecast document of a prediction job.
    Forecast {
        /// The prediction job.
        job_id: Uuid,
    },
    /// One file of a registered model's weights (Hugging Face layout).
    ModelFile {
        /// The registry's storage prefix of the model (`models/{name}-{uuid}`).
        prefix: String,
        /// `tokenizer` or `predictor`.
        part: ModelPart,
        /// `config.json` or `model.safetensors`.
        file: ModelFileName,
    },
    /// A probe object written by readiness checks.
    HealthProbe,
    /// One file of a training job's checkpoint: `generation` counts checkpoints,
    /// `file` is the file's path inside the checkpoint directory (made by the worker,
    /// never by a client).
    CheckpointFile {
        /// The training job.
        job_id: Uuid,
        /// Checkpoint number.
        generation: u64,
        /// Relative path (`predictor/model.safetensors`, `state.json`, …).
        file: String,
    },
    /// The pointer to a training job's latest complete checkpoint generation.
    CheckpointLatest {
        /// The training job.
        job_id: Uuid,
    },
    /// A bulk batch's input as it was received (possibly gzip).
    BatchInput {
        /// The batch.
        batch_id: Uuid,
    },
    /// One chunk of a batch's checked series (Parquet, long format).
    BatchChunk {
        /// The batch.
        batch_id: Uuid,
        /// The chunk's number.
        chunk: u32,
    },
    /// The forecast rows of one chunk (Parquet).
    BatchPart {
        /// The batch.
        batch_id: Uuid,
        /// The chunk's number.
        chunk: u32,
    },
    /// The series one chunk could not forecast (Parquet).
    BatchPartErrors {
        /// The batch.
        batch_id: Uuid,
        /// The chunk's number.
        chunk: u32,
    },
    /// The series refused by validation (Parquet).
    BatchInvalid {
        /// The batch.
        batch_id: Uuid,
    },
    /// A batch's results file (Parquet).
    BatchResults {
        /// The batch.
        batch_id: Uuid,
    },
    /// A batch's errors file (Parquet).
    BatchErrors {
        /// The batch.
        batch_id: Uuid,
    },
    /// One output of a backtest job.
    BacktestFile {
        /// The backtest job.
        job_id: Uuid,
        /// Which output.
        file: BacktestFile,
    },
}

/// The outputs of a backtest job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BacktestFile {
    /// The summary JSON (also the job's result).
    Summary,
    /// The equity curve (Parquet).
    Equity,
    /// The trade list (Parquet).
    Trades,
    /// A sweep's ranking of every grid point (Parquet).
    Sweep,
}

impl BacktestFile {
    /// Every output.
    pub const ALL: [BacktestFile; 4] = [Self::Summary, Self::Equity, Self::Trades, Self::Sweep];

    /// The output's name (`equity`: the key in a summary's `artifacts` and the table in
    /// `GET /v1/backtests/{id}/{table}`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Summary => "summary",
            Self::Equity => "equity",
            Self::Trades => "trades",
            Self::Sweep => "sweep",
        }
    }

    /// The output named `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// File name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Summary => "summary.json",
            Self::Equity => "equity.parquet",
            Self::Trades => "trades.parquet",
            Self::Sweep => "sweep.parquet",
        }
    }
}

/// The networks of a model: Kronos has a tokenizer and a predictor, a baseline
/// regressor one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelPart {
    /// The Kronos tokenizer.
    Tokenizer,
    /// The Kronos predictor.
    Predictor,
    /// A baseline regressor (LSTM, GRU, Transformer).
    Regressor,
}

impl ModelPart {
    /// Kronos's two parts.
    pub const ALL: [ModelPart; 2] = [Self::Tokenizer, Self::Predictor];

    /// The parts of a model family.
    pub fn of_family(family: ModelFamily) -> &'static [ModelPart] {
        if family == ModelFamily::Kronos {
            &Self::ALL
        } else {
            &[Self::Regressor]
        }
    }

    /// Directory name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tokenizer => "tokenizer",
            Self::Predictor => "predictor",
            Self::Regressor => "regressor",
        }
    }
}

/// The files of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFileName {
    /// `config.json`.
    Config,
    /// `model.safetensors`.
    Weights,
}

impl ModelFileName {
    /// Both files.
    pub const ALL: [ModelFileName; 2] = [Self::Config, Self::Weights];

    /// File name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config.json",
            Self::Weights => "model.safetensors",
        }
    }
}

impl StorageKey {
    /// The object path.
    pub fn path(&self) -> String {
        match self {
            // UUIDv7 ids start with the time: the first 8 hex digits change every ~65 s,
            // so a local filesystem gets one directory per minute, not one per job.
            Self::Forecast { job_id } => {
                let id = job_id.simple().to_string();
                format!("predictions/{}/{id}.json", &id[..8])
            }
            Self::ModelFile { prefix, part, file } => {
                format!("{prefix}/{}/{}", part.as_str(), file.as_str())
            }
            Self::HealthProbe => "health/probe".to_owned(),
            Self::CheckpointFile { job_id, generation, file } => {
                format!("checkpoints/{}/{generation}/{file}", job_id.simple())
            }
            Self::CheckpointLatest { job_id } => format!("checkpoints/{}/latest", job_id.simple()),
            Self::BacktestFile { job_id, file } => {
                let id = job_id.simple().to_string();
                format!("backtests/{}/{id}/{}", &id[..8], file.as_str())
            }
            Self::BatchInput { batch_id } => format!("{}/input", batch_folder(*batch_id)),
            Self::BatchChunk { batch_id, chunk } => format!("{}/chunks/{chunk:06}.parquet", batch_folder(*batch_id)),
            Self::BatchPart { batch_id, chunk } => format!("{}/parts/{chunk:06}.parquet", batch_folder(*batch_id)),
            Self::BatchPartErrors { batch_id, chunk } => {
                format!("{}/part-errors/{chunk:06}.parquet", batch_folder(*batch_id))
            }
            Self::BatchInvalid { batch_id } => format!("{}/invalid.parquet", batch_folder(*batch_id)),
            Self::BatchResults { batch_id } => format!("{}/results.parquet", batch_folder(*batch_id)),
            Self::BatchErrors { batch_id } => format!("{}/errors.parquet", batch_folder(*batch_id)),
        }
    }
}

/// `batches/{first 8 hex}/{id}`: one folder per batch, grouped by the minute of its id.
fn batch_folder(batch_id: Uuid) -> String {
    let id = batch_id.simple().to_string();
    format!("batches/{}/{id}", &id[..8])
}

/// A folder of objects that belong together, listed or deleted at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoragePrefix {
    /// Every checkpoint of a training job.
    Checkpoints {
        /// The training job.
        job_id: Uuid,
    },
    /// One checkpoint generation of a training job.
    CheckpointGeneration {
        /// The training job.
        job_id: Uuid,
        /// Checkpoint number.
        generation: u64,
    },
    /// Every object of a bulk batch (input, chunks, parts, results).
    Batch {
        /// The batch.
        batch_id: Uuid,
    },
    /// A registered model's files, under the prefix the registry stores for it.
    Model {
        /// `models/{name}-{uuid}`, made by [`StoragePrefix::new_model`].
        prefix: String,
    },
}

impl StoragePrefix {
    /// A fresh, unique prefix for the files of a model named `name`.
    pub fn new_model(name: &str) -> Self {
        Self::Model { prefix: format!("models/{name}-{}", Uuid::now_v7().simple()) }
    }

    /// A fresh prefix for the model a training job registers (unique per job).
    pub fn trained_model(lineage: &str, job_id: Uuid) -> Self {
        Self::Model { prefix: format!("models/{lineage}-{}", job_id.simple()) }
    }

    /// The folder's path (no trailing slash).
    pub fn path(&self) -> String {
        match self {
            Self::Checkpoints { job_id } => format!("checkpoints/{}", job_id.simple()),
            Self::CheckpointGeneration { job_id, generation } => {
                format!("checkpoints/{}/{generation}", job_id.simple())
            }
            Self::Batch { batch_id } => batch_folder(*batch_id),
            Self::Model { prefix } => prefix.clone(),
        }
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// What [`Storage::put`] wrote.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The key's path.
    pub key: String,
    /// Bytes written.
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// An object being written in parts (see [`Storage::upload`]).
pub struct Upload {
    writer: object_store::WriteMultipart,
    key: String,
    size: u64,
    hasher: Sha256,
}

impl Upload {
    /// Appends `bytes` (waits while too many parts are in flight).
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.wait_for_capacity(4).await?;
        self.writer.write(bytes);
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the object.
    pub async fn finish(self) -> Result<Stored> {
        self.writer.finish().await?;
        Ok(Stored { key: self.key, size: self.size as i64, sha256: hex::encode(self.hasher.finalize()) })
    }

    /// Drops the parts written: nothing is stored.
    pub async fn abort(self) -> Result<()> {
        Ok(self.writer.abort().await?)
    }
}

/// A handle on the configured object store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The S3 store again, for presigned URLs (`None`: a local filesystem).
    signer: Option<Arc<object_store::aws::AmazonS3>>,
    description: String,
}

impl Storage {
    /// Opens the store described by `config` (creating the local root if needed).
    pub fn open(config: &StorageConfig) -> Result<Self> {
        match config {
            StorageConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| Error::Config(format!("cannot create storage root {}: {e}", root.display())))?;
                let store = LocalFileSystem::new_with_prefix(root)?;
                Ok(Self { store: Arc::new(store), signer: None, description: format!("file://{}", root.display()) })
            }
            StorageConfig::S3(s3) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(s3.secret_access_key.expose())
                    .with_virtual_hosted_style_request(!s3.path_style);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                let s3_store = Arc::new(builder.build()?);
                Ok(Self {
                    store: Arc::clone(&s3_store) as Arc<dyn ObjectStore>,
                    signer: Some(s3_store),
                    description: format!("s3://{}", s3.bucket),
                })
            }
        }
    }

    /// Where the store points (no secrets).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Writes `bytes` under `key` (overwriting: writes are idempotent by key).
    pub async fn put(&self, key: &StorageKey, bytes: Bytes) -> Result<Stored> {
        let size = bytes.len() as i64;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        self.store.put(&Path::from(key.path()), PutPayload::from_bytes(bytes)).await?;
        Ok(Stored { key: key.path(), size, sha256 })
    }

    /// Reads the object under `key`.
    pub async fn get(&self, key: &StorageKey) -> Result<Bytes> {
        self.get_path(&key.path()).await
    }

    /// Reads the object at a stored path (as recorded in the `artifacts` table).
    pub async fn get_path(&self, path: &str) -> Result<Bytes> {
        match self.store.get(&Path::from(path)).await {
            Ok(got) => Ok(got.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(Error::NotFound(format!("object {path}"))),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether an object exists under `key`.
    pub async fn exists(&self, key: &StorageKey) -> Result<bool> {
        match self.store.head(&Path::from(key.path())).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the object at a stored path; a missing object is not an error.
    pub async fn delete_path(&self, path: &str) -> Result<()> {
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Paths of every object under `prefix`, sorted.
    pub async fn list_prefix(&self, prefix: &StoragePrefix) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let listed: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&Path::from(prefix.path()))).try_collect().await?;
        let mut paths: Vec<String> = listed.into_iter().map(|m| m.location.to_string()).collect();
        paths.sort();
        Ok(paths)
    }

    /// Deletes every object under `prefix`; returns how many were deleted.
    pub async fn delete_prefix(&self, prefix: &StoragePrefix) -> Result<usize> {
        use futures::TryStreamExt;
        let listed: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&Path::from(prefix.path()))).try_collect().await?;
        for meta in &listed {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(listed.len())
    }

    /// Starts writing `key` in parts (a multipart upload on S3): for bodies too large to
    /// hold in memory. Nothing is visible under `key` until [`Upload::finish`].
    pub async fn upload(&self, key: &StorageKey) -> Result<Upload> {
        let upload = self.store.put_multipart(&Path::from(key.path())).await?;
        Ok(Upload {
            writer: object_store::WriteMultipart::new(upload),
            key: key.path(),
            size: 0,
            hasher: Sha256::new(),
        })
    }

    /// Streams the object under `key` in pieces.
    pub async fn get_stream(
        &self,
        key: &StorageKey,
    ) -> Result<(u64, futures::stream::BoxStream<'static, std::result::Result<Bytes, object_store::Error>>)> {
        match self.store.get(&Path::from(key.path())).await {
            Ok(got) => Ok((got.meta.size, got.into_stream())),
            Err(object_store::Error::NotFound { .. }) => Err(Error::NotFound(format!("object {key}"))),
            Err(e) => Err(e.into()),
        }
    }

    /// A presigned GET URL of `key` valid for `expires_in`, when the store is S3
    /// (`None` on a local filesystem: stream the object instead).
    pub async fn presigned_get(&self, key: &StorageKey, expires_in: std::time::Duration) -> Result<Option<String>> {
        use object_store::signer::Signer;
        let Some(signer) = &self.signer else { return Ok(None) };
        let url = signer.signed_url(http::Method::GET, &Path::from(key.path()), expires_in).await?;
        Ok(Some(url.to_string()))
    }

    /// Round-trips a small probe object: the readiness check.
    pub async fn probe(&self) -> Result<()> {
        let key = StorageKey::HealthProbe;
        self.put(&key, Bytes::from_static(b"ok")).await?;
        self.get(&key).await.map(|_| ())
    }
}
