//! A device pool: the device, its compute threads, its batcher, and the handles its
//! job handlers need.

use std::sync::Arc;

use kronos_models::ComputeDevice;
use kronos_shared::{config::QueueConfig, db::DbPool, metrics::Metrics, storage::Storage};

use crate::{
    batcher::{BatchLimits, Batcher},
    executor::ComputeExecutor,
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
    /// Batched claims and completions.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Metrics,
    /// Queue settings (retry backoff).
    pub queue: QueueConfig,
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
}

impl PoolContext {
    /// Starts the device's compute threads and batcher. `relaxed` (see
    /// `db::relaxed_pool`) carries the claims.
    pub fn start(
        settings: PoolSettings,
        worker_name: String,
        pool: DbPool,
        relaxed: DbPool,
        storage: Storage,
        metrics: Metrics,
        queue: QueueConfig,
    ) -> std::io::Result<Arc<Self>> {
        let executor = ComputeExecutor::start(&format!("compute-{}", settings.device), settings.threads)?;
        let batcher = Batcher::start(executor, settings.batch);
        let recorder = Recorder::start(pool.clone(), relaxed, worker_name, settings.device.to_string());
        Ok(Arc::new(Self { device: settings.device, pool, storage, batcher, recorder, metrics, queue }))
    }
}
