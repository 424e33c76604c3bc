//! Prediction jobs: load the history, forecast through the device's batcher, store
//! the forecast document in the object store, then record the prediction row and
//! the job's success in one transaction.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use kronos_models::{
    kronos::{fill_missing_amount, time_features, SamplingParams, SeriesRequest},
    Bar,
};
use kronos_shared::{
    db::{artifacts, candles, jobs::Claimed, predictions},
    jobs::payload::{ForecastDocument, ForecastRow, KronosSettings, PredictionPayload, SeriesSource},
    market_data::Candle,
    storage::StorageKey,
    Error as SharedError,
};

use super::{JobFailure, Outcome};
use std::sync::Arc;

use crate::{
    batcher::{BatchError, ForecastRequest, RequestModel},
    model_library::LocalModel,
    pool::PoolContext,
    recorder::PredictionResult,
};

/// Runs one claimed prediction job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: PredictionPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable prediction payload: {e}")))?;
    let (history, asset_id) = match &payload.series {
        SeriesSource::Stored { asset_id, context, .. } => {
            let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
            (candles::latest(&mut conn, *asset_id, payload.interval, *context as i64).await?, Some(*asset_id))
        }
        SeriesSource::Inline { candles } => (candles.clone(), None),
    };
    let Some(last) = history.last().copied() else {
        return Err(JobFailure::permanent("no candles to forecast from"));
    };
    let bars: Vec<Bar> = history.iter().map(to_bar).collect();
    let stamps = payload.interval.future_timestamps(last.ts, payload.horizon);
    let model = match &payload.kronos {
        None => RequestModel::Baseline(payload.model.clone(), bars),
        Some(settings) => kronos_request(ctx, settings, &history, bars, &stamps).await?,
    };
    let forecast =
        ctx.batcher.forecast(ForecastRequest { model, horizon: payload.horizon }).await.map_err(|e| match e {
            BatchError::Forecast(f) => JobFailure::permanent(f.to_string()),
            BatchError::Stopped(s) => JobFailure::transient(s.to_string()),
        })?;
    let rows: Vec<ForecastRow> = stamps
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            let [open, high, low, close, volume, amount] = forecast.mean[i];
            ForecastRow {
                ts: *ts,
                open,
                high,
                low,
                close,
                volume,
                amount,
                p10: forecast.p10[i],
                p50: forecast.p50[i],
                p90: forecast.p90[i],
            }
        })
        .collect();
    let document = ForecastDocument {
        job_id: job.id,
        model: payload.model.clone(),
        interval: payload.interval,
        last_ts: last.ts,
        last_close: last.close,
        prob_up: forecast.prob_up,
        rows,
    };
    let body = serde_json::to_vec(&document).map_err(SharedError::from)?;
    let stored = ctx.storage.put(&StorageKey::Forecast { job_id: job.id }, Bytes::from(body)).await?;
    let row = predictions::Prediction {
        job_id: job.id,
        asset_id,
        interval: payload.interval.as_str().to_owned(),
        model: payload.model,
        horizon: payload.horizon as i32,
        last_ts: last.ts,
        last_close: last.close,
        forecast: serde_json::to_value(&document.rows).map_err(SharedError::from)?,
        prob_up: document.prob_up,
        artifact_key: stored.key.clone(),
        created_at: chrono::Utc::now(),
        expires_at: stamps.last().copied().unwrap_or(last.ts),
    };
    let artifact = artifacts::NewArtifact {
        key: stored.key,
        job_id: Some(job.id),
        kind: "forecast".into(),
        content_type: "application/json".into(),
        size_bytes: stored.size,
        sha256: stored.sha256,
    };
    let result = PredictionResult { id: job.id, attempt: job.attempts, prediction: row, artifact };
    let committed = ctx.recorder.complete(result).await?;
    if committed {
        return Ok(Outcome::Succeeded);
    }
    super::end_unowned(ctx, job).await
}

/// A Kronos request: the weights on local disk, the time features of history and
/// future bars (wall-clock fields of the stored UTC times), the sampling settings.
pub(crate) async fn kronos_request(
    ctx: &PoolContext,
    settings: &KronosSettings,
    history: &[Candle],
    bars: Vec<Bar>,
    future: &[DateTime<Utc>],
) -> Result<RequestModel, JobFailure> {
    let model = local_model(ctx, settings.model_id).await?;
    Ok(kronos_request_with(model, settings, history, bars, future))
}

/// The local weights of registered model `id`.
pub(crate) async fn local_model(ctx: &PoolContext, id: i64) -> Result<Arc<LocalModel>, JobFailure> {
    ctx.models.local(id).await.map_err(|e| match e {
        SharedError::NotFound(what) => JobFailure::permanent(format!("{what} is not registered")),
        other => JobFailure::from(other),
    })
}

/// [`kronos_request`] with the weights already at hand.
pub(crate) fn kronos_request_with(
    model: Arc<LocalModel>,
    settings: &KronosSettings,
    history: &[Candle],
    mut bars: Vec<Bar>,
    future: &[DateTime<Utc>],
) -> RequestModel {
    fill_missing_amount(&mut bars);
    let series = SeriesRequest {
        history: bars,
        stamps: history.iter().map(|c| time_features(c.ts.naive_utc())).collect(),
        future_stamps: future.iter().map(|t| time_features(t.naive_utc())).collect(),
        sampling: SamplingParams {
            temperature: settings.temperature,
            top_k: settings.top_k,
            top_p: settings.top_p,
            samples: settings.samples,
            seed: settings.seed,
        },
    };
    RequestModel::Kronos { model, series: Box::new(series), max_context: settings.max_context }
}

pub(crate) fn to_bar(c: &Candle) -> Bar {
    [c.open, c.high, c.low, c.close, c.volume, c.amount]
}
