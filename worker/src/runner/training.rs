//! Training jobs: run the training on one of the pool's compute threads (holding it for
//! the whole run), report progress into the job row about once a second, checkpoint to
//! the object store, and resume from the latest checkpoint when an earlier attempt died.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use kronos_db::{jobs, jobs::Claimed, DbPool};
use kronos_models::training::Progress;
use kronos_types::jobs::training::TrainingPayload;
use serde_json::json;
use tracing::{info, warn};
use uuid::Uuid;

use super::{JobFailure, Outcome};
use crate::{
    pool::PoolContext,
    training::{self, CheckpointStore, Compute, RunError, RunObserver, TrainingEnv},
};

/// How often progress is written to PostgreSQL.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// The latest progress and the cancel flag, shared with the compute thread.
#[derive(Default)]
struct JobObserver {
    latest: Mutex<Option<Progress>>,
    cancelled: AtomicBool,
}

impl RunObserver for JobObserver {
    fn progress(&self, progress: &Progress) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(progress.clone());
        }
    }

    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// Runs one claimed training job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: TrainingPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable training payload: {e}")))?;
    let observer = Arc::new(JobObserver::default());
    let reporter = tokio::spawn(report(ctx.pool.clone(), job.id, job.attempts, Arc::clone(&observer)));
    let env = TrainingEnv {
        pool: ctx.pool.clone(),
        storage: ctx.storage.clone(),
        models: Arc::clone(&ctx.models),
        device: ctx.device,
        compute: Compute::Executor(ctx.executor.clone()),
    };
    let checkpoints = CheckpointStore::new(ctx.storage.clone(), job.id);
    let result = training::run(&env, &payload, Some(job.id), Some(checkpoints.clone()), observer.clone()).await;
    reporter.abort();
    match result {
        Ok(outcome) => {
            let ended = super::succeed_with(ctx, job, &outcome.summary()).await?;
            if ended == Outcome::Succeeded {
                info!(model = %outcome.model.name, promoted = outcome.promoted, "training finished");
                if let Err(e) = checkpoints.delete_all().await {
                    warn!(error = %e, "could not delete the finished job's checkpoints");
                }
            }
            Ok(ended)
        }
        Err(RunError::Cancelled) => super::end_unowned(ctx, job).await,
        Err(RunError::Permanent(message)) => Err(JobFailure::permanent(message)),
        Err(RunError::Transient(message)) => Err(JobFailure::transient(message)),
    }
}

/// Writes the latest progress every second; raises the cancel flag when a client asked
/// for it or the attempt lost the job.
async fn report(pool: DbPool, id: Uuid, attempt: i32, observer: Arc<JobObserver>) {
    let mut ticker = tokio::time::interval(REPORT_EVERY);
    loop {
        ticker.tick().await;
        let latest = observer.latest.lock().ok().and_then(|l| l.clone());
        let Ok(mut conn) = pool.get().await else { continue };
        if let Some(p) = latest {
            let fraction = p.step as f32 / p.total_steps.max(1) as f32;
            let doc = json!({ "progress": p });
            match jobs::report_progress(&mut conn, id, attempt, fraction.min(0.99), &doc).await {
                Ok(false) => observer.cancelled.store(true, Ordering::Relaxed),
                Ok(true) => {}
                Err(e) => warn!(error = %e, "could not record training progress"),
            }
        }
        if jobs::cancel_requested(&mut conn, id).await.unwrap_or(false) {
            observer.cancelled.store(true, Ordering::Relaxed);
        }
    }
}
