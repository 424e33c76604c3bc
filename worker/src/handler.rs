//! The apalis handler: claim the job in PostgreSQL, run it, record the outcome.
//!
//! PostgreSQL decides everything: a delivery whose claim fails (duplicate, cancelled,
//! finished) is acknowledged and dropped; failures are recorded as `retrying` with
//! exponential backoff or `failed`, and the handler still returns `Ok` so that apalis
//! never retries on its own (it ignores `max_attempts`).

use std::{sync::Arc, time::Instant};

use apalis::prelude::{BoxDynError, Data};
use kronos_db::jobs;
use kronos_queue::backoff;
use kronos_types::jobs::{JobKind, JobRef, JobStatus};
use tracing::{debug, info, warn, Instrument};

use crate::{
    pool::PoolContext,
    runner::{self, Outcome},
};

/// Handles one delivery of a job.
pub async fn handle(job: JobRef, ctx: Data<Arc<PoolContext>>) -> Result<(), BoxDynError> {
    let ctx: Arc<PoolContext> = ctx.0.clone();
    let span = tracing::info_span!(
        "job",
        job.id = %job.id,
        job.kind = tracing::field::Empty,
        request_id = tracing::field::Empty,
        device = %ctx.device
    );
    async move {
        let device = ctx.device.to_string();
        let claimed = ctx.recorder.claim(job.id).await?;
        let Some(claimed) = claimed else {
            debug!("delivery not claimable (duplicate, cancelled or finished); dropped");
            return Ok(());
        };
        tracing::Span::current().record("job.kind", claimed.kind.as_str());
        if let Some(request) = &claimed.request_id {
            tracing::Span::current().record("request_id", request.as_str());
        }
        let started = Instant::now();
        let result = match claimed.kind {
            JobKind::Prediction => runner::prediction::run(&ctx, &claimed).await,
            JobKind::Refresh => runner::refresh::run(&ctx, &claimed).await,
            JobKind::Training => runner::training::run(&ctx, &claimed).await,
            JobKind::Verification => runner::verification::run(&ctx, &claimed).await,
            JobKind::Backtest => runner::backtest::run(&ctx, &claimed).await,
            JobKind::Evaluation => runner::evaluation::run(&ctx, &claimed).await,
            JobKind::Cleanup => runner::cleanup::run(&ctx, &claimed).await,
            JobKind::Email => runner::email::run(&ctx, &claimed).await,
            JobKind::Batch => runner::batch::run(&ctx, &claimed).await,
            JobKind::BatchChunk => runner::batch_chunk::run(&ctx, &claimed).await,
        };
        let outcome = match &result {
            Ok(Outcome::Succeeded) => "succeeded",
            Ok(Outcome::Cancelled) => "cancelled",
            Ok(Outcome::Superseded) => "superseded",
            Err(f) if f.retryable => "error_retryable",
            Err(_) => "error_permanent",
        };
        let elapsed = started.elapsed();
        ctx.metrics.job_outcomes.with_label_values(&[claimed.kind.as_str(), &device, outcome]).inc();
        ctx.metrics.job_duration.with_label_values(&[claimed.kind.as_str(), outcome]).observe(elapsed.as_secs_f64());
        let ended = match result {
            Ok(Outcome::Succeeded) => {
                debug!(duration_ms = elapsed.as_millis() as u64, "job succeeded");
                crate::notices::job_ended(&ctx, &claimed, None).await;
                Some((JobStatus::Succeeded, None))
            }
            Ok(other) => {
                info!(outcome = ?other, "job ended without results");
                (other == Outcome::Cancelled).then_some((JobStatus::Cancelled, None))
            }
            Err(failure) => {
                let delay = backoff::delay(claimed.attempts as u32, ctx.queue.retry_base, ctx.queue.retry_max);
                let mut conn = ctx.pool.get().await?;
                let status = jobs::mark_failed(
                    &mut conn,
                    claimed.id,
                    claimed.attempts,
                    &failure.message,
                    failure.retryable,
                    delay.as_millis() as i64,
                )
                .await?;
                warn!(error = %failure.message, attempt = claimed.attempts, new_status = ?status, "job attempt failed");
                drop(conn);
                if status == Some(JobStatus::Failed) {
                    crate::notices::job_ended(&ctx, &claimed, Some(&failure.message)).await;
                }
                status.filter(|s| s.is_terminal()).map(|s| (s, Some(failure.message)))
            }
        };
        if let Some((status, error)) = ended {
            if claimed.kind == JobKind::BatchChunk {
                runner::batch::after_chunk(&ctx, claimed.batch_id).await;
            }
            if claimed.callback_url.is_some() {
                crate::notices::queue_job_callback(&ctx, &claimed, status, error.as_deref()).await;
            }
        }
        Ok(())
    }
    .instrument(span)
    .await
}
