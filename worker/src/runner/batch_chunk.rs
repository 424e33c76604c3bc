//! `batch_chunk` jobs: forecast one chunk of a bulk batch through the device's batcher
//! (bulk lane), every series with the batch's settings — the same request a single
//! prediction of that series makes, so the same seed gives the same forecast — then
//! store the chunk's rows and refused series and end the job with its counts.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::join_all;
use kronos_db::{batches, jobs::Claimed};
use kronos_market_data::batch_files::{self, BatchSeries, ResultRow};
use kronos_models::{kronos::RequestWatch, Bar, ForecastError};
use kronos_storage::StorageKey;
use kronos_types::{
    batches::{BatchSettings, ChunkPayload, ChunkResult, SeriesError},
    Calendar,
};

use super::{prediction, JobFailure, Outcome};
use crate::{
    batcher::{BatchError, ForecastRequest, RequestModel},
    error::Error as SharedError,
    pool::PoolContext,
    progress::{Progress, Reporter},
};

/// How often cancellation is checked while the chunk's series are forecast.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Runs one claimed chunk.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: ChunkPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable chunk payload: {e}")))?;
    let batch = {
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        batches::find(&mut conn, payload.batch_id).await?
    }
    .ok_or_else(|| JobFailure::permanent(format!("batch {} does not exist", payload.batch_id)))?;
    let settings: BatchSettings = serde_json::from_value(batch.settings)
        .map_err(|e| JobFailure::permanent(format!("unreadable batch settings: {e}")))?;
    let key = StorageKey::BatchChunk { batch_id: payload.batch_id, chunk: payload.chunk };
    let bytes = ctx.storage.get(&key).await?;
    let series = tokio::task::spawn_blocking(move || batch_files::read_chunk(bytes.to_vec()))
        .await
        .map_err(|e| JobFailure::transient(format!("chunk read stopped: {e}")))??;

    let progress = Arc::new(Progress::default());
    progress.stage("forecasting", series.len());
    let _reporter = Reporter::start(ctx.pool.clone(), job.id, job.attempts, Arc::clone(&progress));
    let model = match &settings.kronos {
        Some(kronos) => Some(prediction::local_model(ctx, kronos.model_id).await?),
        None => None,
    };
    let watches: Vec<Arc<RequestWatch>> = series.iter().map(|_| Arc::new(RequestWatch::default())).collect();
    let requests = series.iter().zip(&watches).map(|(s, watch)| {
        let request = request(&settings, s, model.clone(), Arc::clone(watch));
        let progress = Arc::clone(&progress);
        async move {
            let result = ctx.batcher.forecast_bulk(request).await;
            progress.advance();
            result
        }
    });
    let all = join_all(requests);
    tokio::pin!(all);
    let mut tick = tokio::time::interval(WATCH_EVERY);
    let results = loop {
        tokio::select! {
            results = &mut all => break results,
            _ = tick.tick() => {
                if progress.cancelled() {
                    watches.iter().for_each(|w| w.cancel());
                }
            }
        }
    };

    let mut rows: Vec<ResultRow> = Vec::with_capacity(series.len() * settings.horizon);
    let mut errors: Vec<SeriesError> = Vec::new();
    for (s, result) in series.iter().zip(results) {
        match result {
            Ok(forecast) => {
                let stamps = future_bars(&settings, s);
                for (i, ts) in stamps.iter().enumerate() {
                    rows.push(ResultRow {
                        series_id: s.id.clone(),
                        step: i as u32 + 1,
                        ts: *ts,
                        forecast: forecast.mean[i][3],
                        p10: forecast.p10[i],
                        p50: forecast.p50[i],
                        p90: forecast.p90[i],
                        prob_up: forecast.prob_up,
                    });
                }
            }
            Err(BatchError::Forecast(ForecastError::Cancelled)) => return super::end_unowned(ctx, job).await,
            Err(BatchError::Forecast(e)) => {
                errors.push(SeriesError { series_id: s.id.clone(), row: None, reason: e.to_string() });
            }
            Err(BatchError::Stopped(e)) => return Err(JobFailure::transient(e.to_string())),
        }
    }
    let counts = ChunkResult {
        series: series.len() as u32,
        succeeded: (series.len() - errors.len()) as u32,
        failed: errors.len() as u32,
    };
    let (part, part_errors) = tokio::task::spawn_blocking(move || {
        let part = batch_files::write_results(&rows)?;
        let errors = if errors.is_empty() { None } else { Some(batch_files::write_errors(&errors)?) };
        Ok::<_, kronos_market_data::Error>((part, errors))
    })
    .await
    .map_err(|e| JobFailure::transient(format!("chunk write stopped: {e}")))??;
    let (batch_id, chunk) = (payload.batch_id, payload.chunk);
    ctx.storage.put(&StorageKey::BatchPart { batch_id, chunk }, Bytes::from(part)).await?;
    if let Some(part_errors) = part_errors {
        ctx.storage.put(&StorageKey::BatchPartErrors { batch_id, chunk }, Bytes::from(part_errors)).await?;
    }
    super::succeed_with(ctx, job, &counts).await
}

/// The future bar times of a series: the batch's calendar, or one inferred from the
/// series' own times (as an inline prediction infers it).
fn future_bars(settings: &BatchSettings, series: &BatchSeries) -> Vec<chrono::DateTime<chrono::Utc>> {
    let calendar =
        settings.calendar.unwrap_or_else(|| Calendar::infer(&series.candles.iter().map(|c| c.ts).collect::<Vec<_>>()));
    let last = series.candles.last().map(|c| c.ts).unwrap_or_default();
    calendar.next_bars(settings.interval, last, settings.horizon)
}

/// The request a single prediction of this series with these settings makes.
fn request(
    settings: &BatchSettings,
    series: &BatchSeries,
    model: Option<Arc<crate::model_library::LocalModel>>,
    watch: Arc<RequestWatch>,
) -> ForecastRequest {
    let bars: Vec<Bar> = series.candles.iter().map(prediction::to_bar).collect();
    let model = match (&settings.kronos, model) {
        (Some(kronos), Some(local)) => {
            let future = future_bars(settings, series);
            prediction::kronos_request_with(local, kronos, &series.candles, bars, &future, Some(watch))
        }
        _ => RequestModel::Baseline(settings.model.clone(), bars),
    };
    ForecastRequest { model, horizon: settings.horizon }
}
