//! Cleanup jobs: delete forecast documents older than the cut-off (their `predictions`
//! rows keep the forecast) and the checkpoints of training jobs that failed or were
//! cancelled before it (succeeded training jobs delete their own). The scheduler
//! enqueues one per cleanup slot; the worker does the object-store work.

use kronos_db::{artifacts, jobs, jobs::Claimed};
use kronos_storage::StoragePrefix;
use kronos_types::jobs::{payload::CleanupPayload, results::CleanupResult};

use super::{JobFailure, Outcome};
use crate::{error::Error as SharedError, pool::PoolContext};

/// Most forecast documents one job deletes (the next slot takes the rest).
const MAX_DOCUMENTS: i64 = 10_000;

/// Runs one claimed cleanup job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: CleanupPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable cleanup payload: {e}")))?;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let mut report = CleanupResult::default();
    for key in artifacts::forecast_keys_before(&mut conn, payload.before, MAX_DOCUMENTS).await? {
        ctx.storage.delete_path(&key).await?;
        artifacts::delete(&mut conn, &key).await?;
        report.forecast_documents += 1;
    }
    for id in jobs::ended_trainings_before(&mut conn, payload.before).await? {
        report.checkpoint_objects += ctx.storage.delete_prefix(&StoragePrefix::Checkpoints { job_id: id }).await?;
    }
    tracing::info!(?report, "cleanup done");
    drop(conn);
    super::succeed_with(ctx, job, &report).await
}
