//! A device pool: the device, its compute threads, its batcher, and the handles its
//! job handlers need.

use std::sync::Arc;

use kronos_config::QueueConfig;
use kronos_db::DbPool;
use kronos_exchanges::aggregator::MarketData;
use kronos_models::ComputeDevice;
use kronos_observability::metrics::Metrics;
use kronos_storage::Storage;

use crate::{
    batcher::{BatchLimits, Batcher},
    executor::ComputeExecutor,
    mailer::Mailer,
    model_library::ModelLibrary,
    notices::Notices,
    recorder::Recorder,
};

/// Everything a job handler on one device needs.
pub struct PoolContext {
    /// The device.
    pub device: ComputeDevice,
    /// PostgreSQL.
    pub pool: DbPool,
    /// Object store.
    pub storage: Storage,
    /// Prediction batcher of this device.
    pub batcher: Batcher,
    /// The device's compute threads (training jobs hold one for their whole run).
    pub executor: ComputeExecutor,
    /// Batched claims and completions.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Metrics,
    /// Queue settings (retry backoff).
    pub queue: QueueConfig,
    /// Registered models on local disk (shared by every pool of the process).
    pub models: Arc<ModelLibrary>,
    /// Exchange data sources (refresh jobs).
    pub market: Arc<MarketData>,
    /// The SMTP client (email jobs).
    pub mailer: Arc<Mailer>,
    /// Alert emails' links.
    pub notices: Arc<Notices>,
    /// Bulk batch settings (chunk size, tiers).
    pub batches: kronos_config::BatchConfig,
}

/// Settings of one device pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// The device.
    pub device: ComputeDevice,
    /// Jobs handled at once.
    pub concurrency: usize,
    /// Compute threads.
    pub threads: usize,
    /// Batching limits.
    pub batch: BatchLimits,
    /// Continuous decoding of interactive Kronos forecasts with these limits (rows,
    /// cache memory, per model), or none: dynamic batching.
    pub decoding: Option<kronos_models::kronos::ContinuousLimits>,
}

impl PoolContext {
    /// Starts the device's compute threads and batcher. `relaxed` (see
    /// `db::relaxed_pool`) carries the claims.
    #[expect(clippy::too_many_arguments, reason = "each is a distinct part of the pool")]
    pub fn start(
        settings: PoolSettings,
        worker_name: String,
        pool: DbPool,
        relaxed: DbPool,
        storage: Storage,
        metrics: Metrics,
        queue: QueueConfig,
        models: Arc<ModelLibrary>,
        market: Arc<MarketData>,
        mailer: Arc<Mailer>,
        notices: Arc<Notices>,
        batches: kronos_config::BatchConfig,
    ) -> std::io::Result<Arc<Self>> {
        let executor = ComputeExecutor::start(&format!("compute-{}", settings.device), settings.threads)?;
        let batcher =
            Batcher::start(executor.clone(), settings.device, settings.batch, settings.threads, settings.decoding)?;
        let recorder = Recorder::start(pool.clone(), relaxed, worker_name, settings.device.to_string());
        Ok(Arc::new(Self {
            device: settings.device,
            pool,
            storage,
            batcher,
            executor,
            recorder,
            metrics,
            queue,
            models,
            market,
            mailer,
            notices,
            batches,
        }))
    }
}
