//! Coalesced job-state writes of one device pool: claims and completions from
//! concurrent handlers go to PostgreSQL as one statement (claims) or one transaction
//! (completions) per batch.

use std::time::Duration;

use crate::error::Error as SharedError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use kronos_db::{
    artifacts, artifacts::NewArtifact, batching::Coalescer, jobs, jobs::Claimed, predictions, predictions::Prediction,
    DbPool,
};
use tracing::warn;
use uuid::Uuid;

/// Most rows per batched statement.
const MAX_BATCH: usize = 128;

/// Batches in flight at once.
const IN_FLIGHT: usize = 4;

/// A successful prediction attempt's results.
#[derive(Debug, Clone)]
pub struct PredictionResult {
    /// Job.
    pub id: Uuid,
    /// The attempt that produced it.
    pub attempt: i32,
    /// The row for `predictions`.
    pub prediction: Prediction,
    /// The row for `artifacts`.
    pub artifact: NewArtifact,
}

/// Claims and completions of one device pool.
#[derive(Clone)]
pub struct Recorder {
    claims: Coalescer<Uuid, Result<Option<Claimed>, String>>,
    completions: Coalescer<PredictionResult, Result<bool, String>>,
}

impl Recorder {
    /// Starts the batching tasks: claims go through `relaxed` (no WAL flush wait; a
    /// claim lost in a crash only means the job runs again), completions through `pool`.
    pub fn start(pool: DbPool, relaxed: DbPool, worker: String, device: String) -> Self {
        let claim_pool = relaxed;
        let claims = Coalescer::start(MAX_BATCH, IN_FLIGHT, move |ids: Vec<Uuid>| {
            let pool = claim_pool.clone();
            let (worker, device) = (worker.clone(), device.clone());
            async move {
                let result = async {
                    let mut conn = pool.get().await?;
                    jobs::claim_many(&mut conn, &ids, &worker, &device).await
                }
                .await;
                match result {
                    Ok(claimed) => {
                        let mut by_id: std::collections::HashMap<Uuid, Claimed> =
                            claimed.into_iter().map(|c| (c.id, c)).collect();
                        ids.iter().map(|id| Ok(by_id.remove(id))).collect()
                    }
                    Err(e) => vec![Err(e.to_string()); ids.len()],
                }
            }
        });
        let completions = Coalescer::start(MAX_BATCH, IN_FLIGHT, move |batch: Vec<PredictionResult>| {
            let pool = pool.clone();
            async move {
                let n = batch.len();
                match complete_with_retries(&pool, &batch).await {
                    Ok(done) => batch.iter().map(|r| Ok(done.contains(&r.id))).collect(),
                    Err(e) => vec![Err(e.to_string()); n],
                }
            }
        });
        Self { claims, completions }
    }

    /// Claims a job for this pool; `None` when it is not claimable.
    pub async fn claim(&self, id: Uuid) -> Result<Option<Claimed>, SharedError> {
        self.claims.call(id).await.map_err(|e| SharedError::Batch(e.to_string()))?.map_err(SharedError::Batch)
    }

    /// Records a prediction and the job's success atomically; `false` when the attempt
    /// no longer owns the job (cancelled or superseded), in which case nothing is written.
    pub async fn complete(&self, result: PredictionResult) -> Result<bool, SharedError> {
        self.completions.call(result).await.map_err(|e| SharedError::Batch(e.to_string()))?.map_err(SharedError::Batch)
    }
}

/// Tries a completion batch up to this many times.
const COMPLETION_TRIES: u32 = 4;

/// Runs [`complete`], retrying a failed transaction (a deadlock victim, a dropped
/// connection) after a short pause: one bad transaction must not turn a whole batch of
/// finished jobs into failed attempts. Retrying is safe: a transaction that did commit
/// finds its jobs no longer `running`, writes nothing more, and reports them superseded.
async fn complete_with_retries(pool: &DbPool, batch: &[PredictionResult]) -> Result<Vec<Uuid>, SharedError> {
    let mut tries = 1;
    loop {
        match complete(pool, batch).await {
            Ok(done) => return Ok(done),
            Err(e) if tries < COMPLETION_TRIES => {
                warn!(error = %e, jobs = batch.len(), tries, "completion batch failed; retrying");
                tokio::time::sleep(Duration::from_millis(25 << tries)).await;
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn complete(pool: &DbPool, batch: &[PredictionResult]) -> Result<Vec<Uuid>, SharedError> {
    let mut conn = pool.get().await?;
    let ids: Vec<Uuid> = batch.iter().map(|r| r.id).collect();
    let attempts: Vec<i32> = batch.iter().map(|r| r.attempt).collect();
    (*conn)
        .transaction::<Vec<Uuid>, SharedError, _>(async |conn: &mut AsyncPgConnection| {
            let done = jobs::mark_succeeded_many(conn, &ids, &attempts).await?;
            if done.is_empty() {
                return Ok(done);
            }
            let owned: Vec<&PredictionResult> = batch.iter().filter(|r| done.contains(&r.id)).collect();
            let rows: Vec<Prediction> = owned.iter().map(|r| r.prediction.clone()).collect();
            let files: Vec<NewArtifact> = owned.iter().map(|r| r.artifact.clone()).collect();
            predictions::insert_many(conn, &rows).await?;
            artifacts::upsert_many(conn, &files).await?;
            Ok(done)
        })
        .await
}
