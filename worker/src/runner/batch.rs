//! `batch` jobs: a bulk batch's ingest (read the upload, check every series, write the
//! chunk files, then record the counts and the chunk jobs in one transaction) and its
//! finish (once every chunk has ended: the results and errors files, the outcome and
//! the completion callback in one transaction).

use std::collections::HashSet;

use bytes::Bytes;
use futures::{stream, StreamExt, TryStreamExt};
use kronos_db::{
    batches::{self, Batch, Finished, Validated},
    candles,
    jobs::{self, NewJob},
    users,
};
use kronos_market_data::batch_files::{self, BatchSeries, LongFormat, ReadBatch, ResultRow, SeriesRules};
use kronos_storage::StorageKey;
use kronos_types::{
    batches::{BatchFormat, BatchJobPayload, BatchPhase, BatchSettings, BatchStatus, ChunkPayload, SeriesError},
    jobs::JobKind,
    Candle,
};
use serde::Deserialize;
use tracing::{info, warn};
use uuid::Uuid;

use super::{JobFailure, Outcome};
use crate::{error::Error as SharedError, pool::PoolContext};

/// Most attempts of a chunk job.
const CHUNK_ATTEMPTS: i32 = 3;
/// Chunk files written at once.
const PARALLEL_WRITES: usize = 8;

/// Runs one claimed `batch` job.
pub async fn run(ctx: &PoolContext, job: &jobs::Claimed) -> Result<Outcome, JobFailure> {
    let payload: BatchJobPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable batch payload: {e}")))?;
    let batch = {
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        batches::find(&mut conn, payload.batch_id).await?
    };
    let Some(batch) = batch else {
        return Err(JobFailure::permanent(format!("batch {} does not exist", payload.batch_id)));
    };
    let settings: BatchSettings = serde_json::from_value(batch.settings.clone())
        .map_err(|e| JobFailure::permanent(format!("unreadable batch settings: {e}")))?;
    match payload.phase {
        BatchPhase::Ingest => ingest(ctx, job, &batch, &settings).await,
        BatchPhase::Finish => finish(ctx, job, &batch).await,
    }
}

/// Inline series as the API stores a JSON batch's input.
#[derive(Debug, Deserialize)]
pub struct InlineInput {
    /// The series.
    pub series: Vec<InlineSeries>,
}

/// One inline series.
#[derive(Debug, Deserialize)]
pub struct InlineSeries {
    /// The client's id.
    pub id: String,
    /// Its bars, oldest first.
    #[serde(default)]
    pub candles: Vec<Candle>,
    /// A stored series (symbol batches): its asset.
    #[serde(default)]
    pub asset_id: Option<i64>,
}

async fn ingest(
    ctx: &PoolContext,
    job: &jobs::Claimed,
    batch: &Batch,
    settings: &BatchSettings,
) -> Result<Outcome, JobFailure> {
    if batch.status != BatchStatus::Validating {
        // validated by an earlier attempt whose end was recorded: nothing left to do
        return super::succeed_with(ctx, job, &serde_json::json!({ "skipped": batch.status.as_str() })).await;
    }
    let rules =
        SeriesRules { interval: settings.interval, min_history: settings.min_history(), context: settings.context };
    let read = match read_input(ctx, batch, settings, rules).await? {
        Ok(read) => read,
        Err(reason) => return refuse(ctx, batch, &reason).await,
    };
    let limit = series_limit(ctx, batch).await?;
    if read.series.len() > limit {
        let reason = format!("{} series; your tier allows {limit} per batch", read.series.len());
        return refuse(ctx, batch, &reason).await;
    }
    let errors_key = if read.errors.is_empty() {
        None
    } else {
        let errors = read.errors.clone();
        let bytes = blocking(move || batch_files::write_errors(&errors)).await?;
        Some(ctx.storage.put(&StorageKey::BatchInvalid { batch_id: batch.id }, Bytes::from(bytes)).await?.key)
    };
    let chunk_size = ctx.batches.chunk_series.max(1);
    let chunks: Vec<Vec<BatchSeries>> = read.series.chunks(chunk_size).map(<[BatchSeries]>::to_vec).collect();
    let sizes: Vec<u32> = chunks.iter().map(|c| c.len() as u32).collect();
    let batch_id = batch.id;
    stream::iter(chunks.into_iter().enumerate())
        .map(|(n, series)| async move {
            let bytes = blocking(move || batch_files::write_chunk(&series)).await?;
            let key = StorageKey::BatchChunk { batch_id, chunk: n as u32 };
            ctx.storage.put(&key, Bytes::from(bytes)).await.map_err(JobFailure::from)
        })
        .buffer_unordered(PARALLEL_WRITES)
        .try_collect::<Vec<_>>()
        .await?;
    let chunk_jobs: Vec<NewJob> = sizes
        .iter()
        .enumerate()
        .map(|(n, &series)| {
            let payload = ChunkPayload { batch_id, chunk: n as u32, series };
            let mut new = NewJob::new(JobKind::BatchChunk, serde_json::json!(payload), CHUNK_ATTEMPTS)
                .with_priority(batch.priority);
            new.owner_id = batch.owner_id;
            new.batch_id = Some(batch_id);
            new.request_id = batch.request_id.clone();
            new
        })
        .collect();
    let validated =
        Validated { series_total: read.series.len() as i32, series_invalid: read.errors.len() as i32, errors_key };
    let result = serde_json::json!({
        "rows": read.rows, "series": read.series.len(), "invalid": read.errors.len(), "chunks": sizes.len()
    });
    let no_chunks = sizes.is_empty();
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    if !batches::record_validated(&mut conn, batch_id, job.id, job.attempts, &result, validated, chunk_jobs).await? {
        drop(conn);
        return super::end_unowned(ctx, job).await;
    }
    info!(batch = %batch_id, series = read.series.len(), invalid = read.errors.len(), chunks = sizes.len(), "batch validated");
    if no_chunks {
        enqueue_finish(&mut conn, batch).await?;
    }
    Ok(Outcome::Succeeded)
}

/// Reads and checks the batch's input: `Ok(Err(reason))` when the input cannot be used
/// at all (the client's fault: the batch fails), `Err` when reading failed (retried).
async fn read_input(
    ctx: &PoolContext,
    batch: &Batch,
    settings: &BatchSettings,
    rules: SeriesRules,
) -> Result<Result<ReadBatch, String>, JobFailure> {
    let raw = ctx.storage.get(&StorageKey::BatchInput { batch_id: batch.id }).await?;
    match batch.input_format {
        BatchFormat::Csv | BatchFormat::Parquet => {
            let declared = batch.input_format;
            let read = blocking(move || {
                let bytes = batch_files::gunzip_if_needed(raw.to_vec())?;
                let format = batch_files::sniff(&bytes);
                if declared == BatchFormat::Parquet && format != LongFormat::Parquet {
                    return Err(kronos_market_data::Error::invalid("file", "the upload is not a Parquet file"));
                }
                batch_files::read_long(bytes, format, rules)
            })
            .await;
            match read {
                Ok(read) => Ok(Ok(read)),
                Err(failure) if !failure.retryable => Ok(Err(failure.message)),
                Err(failure) => Err(failure),
            }
        }
        BatchFormat::Json => {
            let input: InlineInput = match serde_json::from_slice(&raw) {
                Ok(input) => input,
                Err(e) => return Ok(Err(format!("the stored input is unreadable: {e}"))),
            };
            let series = input.series.into_iter().map(|s| (s.id, s.candles)).collect();
            Ok(Ok(batch_files::check_inline(series, rules)))
        }
        BatchFormat::Symbols => {
            let input: InlineInput = match serde_json::from_slice(&raw) {
                Ok(input) => input,
                Err(e) => return Ok(Err(format!("the stored input is unreadable: {e}"))),
            };
            let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
            let mut series = Vec::with_capacity(input.series.len());
            for s in input.series {
                let Some(asset_id) = s.asset_id else { continue };
                let history =
                    candles::range(&mut conn, asset_id, settings.interval, None, None, settings.context as i64).await?;
                series.push((s.id, history));
            }
            Ok(Ok(batch_files::check_inline(series, rules)))
        }
    }
}

/// Most series the batch's owner may send in one batch.
async fn series_limit(ctx: &PoolContext, batch: &Batch) -> Result<usize, JobFailure> {
    let Some(owner) = batch.owner_id else { return Ok(usize::MAX) };
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let user = users::find(&mut conn, owner).await?;
    Ok(user.map_or(0, |u| u.tier.batch_limits().series))
}

/// Ends a batch whose input cannot be used: `failed` with `reason`, its callback
/// queued; the ingest job fails for good with the same reason.
async fn refuse(ctx: &PoolContext, batch: &Batch, reason: &str) -> Result<Outcome, JobFailure> {
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    if batches::fail(&mut conn, batch.id, reason).await? {
        warn!(batch = %batch.id, %reason, "batch refused");
        let body = crate::callback_bodies::batch(batch.id, BatchStatus::Failed, None, Some(reason));
        batches::queue_callback(&mut conn, batch, body).await?;
    }
    Err(JobFailure::permanent(reason))
}

/// Queues the batch's finishing job (once per batch).
pub(crate) async fn enqueue_finish(conn: &mut kronos_db::DbConn, batch: &Batch) -> Result<(), JobFailure> {
    if batches::enqueue_finish(conn, batch).await? {
        info!(batch = %batch.id, "every chunk ended; finishing the batch");
    }
    Ok(())
}

/// After a chunk ended (in any way): when it was the batch's last, queue the finish.
pub async fn after_chunk(ctx: &PoolContext, batch_id: Option<Uuid>) {
    let Some(batch_id) = batch_id else { return };
    let result: Result<(), JobFailure> = async {
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        if batches::has_unfinished_chunks(&mut conn, batch_id).await? {
            return Ok(());
        }
        if let Some(batch) = batches::find(&mut conn, batch_id).await? {
            if batch.status == BatchStatus::Running {
                enqueue_finish(&mut conn, &batch).await?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // the scheduler's sweep finishes the batch anyway
        warn!(batch = %batch_id, error = %e.message, "could not check whether the batch is done");
    }
}

async fn finish(ctx: &PoolContext, job: &jobs::Claimed, batch: &Batch) -> Result<Outcome, JobFailure> {
    if batch.status.is_terminal() {
        return super::succeed_with(ctx, job, &serde_json::json!({ "skipped": batch.status.as_str() })).await;
    }
    let (done, lost, invalid) = {
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        batches::mark_assembling(&mut conn, batch.id).await?;
        (
            batches::succeeded_chunks(&mut conn, batch.id).await?,
            batches::lost_chunks(&mut conn, batch.id).await?,
            batch.errors_key.is_some(),
        )
    };
    let mut numbered: Vec<u32> = done
        .iter()
        .filter_map(|(_, payload)| serde_json::from_value::<ChunkPayload>(payload.clone()).ok().map(|p| p.chunk))
        .collect();
    numbered.sort_unstable();
    let mut errors: Vec<SeriesError> = Vec::new();
    if invalid {
        let bytes = ctx.storage.get(&StorageKey::BatchInvalid { batch_id: batch.id }).await?;
        errors.extend(blocking(move || batch_files::read_errors(bytes.to_vec())).await?);
    }
    let batch_id = batch.id;
    let parts: Vec<(Vec<ResultRow>, Vec<SeriesError>)> = stream::iter(numbered)
        .map(|chunk| async move {
            let rows = ctx.storage.get(&StorageKey::BatchPart { batch_id, chunk }).await?;
            let rows = blocking(move || batch_files::read_results(rows.to_vec())).await?;
            let errors = match ctx.storage.get(&StorageKey::BatchPartErrors { batch_id, chunk }).await {
                Ok(bytes) => blocking(move || batch_files::read_errors(bytes.to_vec())).await?,
                Err(kronos_storage::Error::NotFound(_)) => Vec::new(),
                Err(e) => return Err(JobFailure::from(e)),
            };
            Ok::<_, JobFailure>((rows, errors))
        })
        .buffered(PARALLEL_WRITES)
        .try_collect()
        .await?;
    let mut rows: Vec<ResultRow> = Vec::new();
    for (part_rows, part_errors) in parts {
        rows.extend(part_rows);
        errors.extend(part_errors);
    }
    // series of chunks that failed for good or were cancelled: each named in the errors
    for (payload, status, error) in lost {
        let Ok(chunk) = serde_json::from_value::<ChunkPayload>(payload) else { continue };
        let reason = match (status.as_str(), error) {
            ("cancelled", _) => "cancelled before it was forecast".to_owned(),
            (_, Some(error)) => format!("its chunk failed: {error}"),
            _ => "its chunk failed".to_owned(),
        };
        let bytes = ctx.storage.get(&StorageKey::BatchChunk { batch_id, chunk: chunk.chunk }).await?;
        let series = blocking(move || batch_files::read_chunk(bytes.to_vec())).await?;
        errors.extend(series.into_iter().map(|s| SeriesError { series_id: s.id, row: None, reason: reason.clone() }));
    }
    let series_done = rows.iter().map(|row| row.series_id.as_str()).collect::<HashSet<_>>().len();
    let error_count = errors.len();
    let (results, error_file) =
        blocking(move || Ok((batch_files::write_results(&rows)?, batch_files::write_errors(&errors)?))).await?;
    let results_key = ctx.storage.put(&StorageKey::BatchResults { batch_id }, Bytes::from(results)).await?.key;
    let errors_key = ctx.storage.put(&StorageKey::BatchErrors { batch_id }, Bytes::from(error_file)).await?.key;
    let status = if batch.cancel_requested { BatchStatus::Cancelled } else { BatchStatus::Succeeded };
    let counts = crate::callback_bodies::Counts { forecast: series_done, errors: error_count };
    let callback_body =
        batch.callback_url.as_ref().map(|_| crate::callback_bodies::batch(batch_id, status, Some(counts), None));
    let finished = Finished { status, results_key, errors_key, callback_body };
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    if !batches::record_finished(&mut conn, batch, job.id, job.attempts, finished).await? {
        drop(conn);
        return super::end_unowned(ctx, job).await;
    }
    info!(batch = %batch_id, status = status.as_str(), series = series_done, errors = error_count, "batch finished");
    Ok(Outcome::Succeeded)
}

/// Runs CPU work (Parquet, gzip) on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> kronos_market_data::Result<T> + Send + 'static,
) -> Result<T, JobFailure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| JobFailure::transient(format!("file work stopped: {e}")))?
        .map_err(JobFailure::from)
}
