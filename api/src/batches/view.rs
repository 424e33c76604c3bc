//! A batch as clients see it: counts from its chunk jobs, progress, an ETA at the rate
//! so far, its callback's deliveries, links to its files.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use kronos_db::{
    batches::{self, Batch},
    callbacks,
};
use kronos_types::batches::{BatchSettings, BatchStatus};

use crate::{
    dto::batches::{BatchView, CallbackAttemptView, CallbackView, ChunkCounts, ResultLinks, SeriesCounts},
    error::ApiResult,
};

/// A callback with its delivery attempts, as clients see it (batches and jobs).
pub fn callback_view((callback, attempts): (callbacks::Callback, Vec<callbacks::Attempt>)) -> CallbackView {
    CallbackView {
        id: callback.id,
        url: callback.url,
        status: callback.status.as_str(),
        next_attempt_at: (callback.status == kronos_types::batches::CallbackStatus::Pending)
            .then_some(callback.next_attempt_at),
        attempts: attempts
            .into_iter()
            .map(|a| CallbackAttemptView {
                attempt: a.attempt,
                at: a.at,
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
    }
}

/// The view of `batch` (two indexed queries: its chunks' counts and its callback).
pub async fn batch_view(conn: &mut AsyncPgConnection, batch: Batch) -> ApiResult<BatchView> {
    let counts = batches::chunk_counts(conn, batch.id).await?;
    let callback = callbacks::of_batch(conn, batch.id).await?.map(callback_view);
    let settings: Option<BatchSettings> = serde_json::from_value(batch.settings.clone()).ok();
    let total = i64::from(batch.series_total);
    let failed = counts.series_failed + counts.series_lost;
    let ended = counts.series_done + failed;
    let pending = match batch.status {
        BatchStatus::Validating => 0,
        _ => (total - ended).max(0),
    };
    let progress = match batch.status {
        BatchStatus::Succeeded | BatchStatus::Cancelled | BatchStatus::Failed => 1.0,
        _ if total > 0 => ended as f64 / total as f64,
        _ => 0.0,
    };
    let eta_seconds = match (batch.status, batch.started_at) {
        (BatchStatus::Running, Some(started)) if ended > 0 => {
            let elapsed = (Utc::now() - started).num_milliseconds() as f64 / 1000.0;
            Some(elapsed / ended as f64 * pending as f64)
        }
        _ => None,
    };
    let results = batch.results_key.as_ref().map(|_| ResultLinks {
        parquet: format!("/v1/batches/{}/results", batch.id),
        csv: format!("/v1/batches/{}/results?format=csv", batch.id),
        errors: format!("/v1/batches/{}/results?table=errors", batch.id),
    });
    Ok(BatchView {
        id: batch.id,
        status: batch.status,
        model: settings.as_ref().map(|s| s.model.clone()).unwrap_or_default(),
        interval: settings.as_ref().map(|s| s.interval.as_str().to_owned()).unwrap_or_default(),
        horizon: settings.as_ref().map_or(0, |s| s.horizon as i64),
        input_format: batch.input_format.as_str(),
        input_bytes: batch.input_bytes,
        series: SeriesCounts {
            total,
            invalid: i64::from(batch.series_invalid),
            done: counts.series_done,
            failed,
            pending,
        },
        chunks: ChunkCounts {
            total: i64::from(batch.chunks),
            waiting: counts.waiting,
            running: counts.running,
            succeeded: counts.succeeded,
            failed: counts.failed,
            cancelled: counts.cancelled,
        },
        progress,
        eta_seconds,
        error: batch.error,
        cancel_requested: batch.cancel_requested,
        callback,
        callback_url: batch.callback_url,
        results,
        created_at: batch.created_at,
        started_at: batch.started_at,
        finished_at: batch.finished_at,
    })
}
