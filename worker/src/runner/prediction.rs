//! Prediction jobs: load the history, forecast through the device's batcher (a Kronos
//! forecast reports its decode progress and stops between decode steps when
//! cancelled), store the forecast document in the object store, then record the
//! prediction row and the job's success in one transaction.

use std::{sync::Arc, time::Duration};

use crate::error::Error as SharedError;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kronos_db::{artifacts, candles, jobs::Claimed, predictions};
use kronos_models::{
    kronos::{fill_missing_amount, time_features, RequestWatch, SamplingParams, SeriesRequest},
    Bar, Forecast, ForecastError,
};
use kronos_notify::alerts::{ForecastFacts, Watched};
use kronos_storage::StorageKey;
use kronos_types::{
    jobs::payload::direction_of, jobs::payload::ForecastDocument, jobs::payload::ForecastRow,
    jobs::payload::ForecastSummary, jobs::payload::KronosSettings, jobs::payload::PredictionPayload,
    jobs::payload::RawBar, jobs::payload::SeriesSource, Candle,
};

use super::{JobFailure, Outcome};

use crate::{
    batcher::{BatchError, ForecastRequest, RequestModel},
    model_library::LocalModel,
    pool::PoolContext,
    progress::{Progress, Reporter},
    recorder::PredictionResult,
};

/// How often a running Kronos forecast's progress is read and cancellation passed on.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// Runs one claimed prediction job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: PredictionPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable prediction payload: {e}")))?;
    let (history, asset_id, as_of) = match &payload.series {
        SeriesSource::Stored { asset_id, context, as_of, .. } => {
            let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
            // as of a time: the bars that had closed by then (start + interval <= as_of)
            let until = as_of.map(|t| t - payload.interval.duration());
            let history = candles::range(&mut conn, *asset_id, payload.interval, None, until, *context as i64).await?;
            (history, Some(*asset_id), *as_of)
        }
        SeriesSource::Inline { candles } => (candles.clone(), None, None),
    };
    let Some(last) = history.last().copied() else {
        return Err(JobFailure::permanent("no candles to forecast from"));
    };
    let bars: Vec<Bar> = history.iter().map(to_bar).collect();
    let stamps = payload.calendar.next_bars(payload.interval, last.ts, payload.horizon);
    let forecast = match &payload.kronos {
        None => {
            let request = ForecastRequest {
                model: RequestModel::Baseline(payload.model.clone(), bars),
                horizon: payload.horizon,
            };
            ctx.batcher.forecast(request).await
        }
        Some(settings) => {
            let watch = Arc::new(RequestWatch::default());
            let model = kronos_request(ctx, settings, &history, bars, &stamps, Some(Arc::clone(&watch))).await?;
            let request = ForecastRequest { model, horizon: payload.horizon };
            watched(ctx, job, request, &watch, settings.samples * payload.horizon).await
        }
    };
    let forecast = match forecast {
        Ok(forecast) => forecast,
        Err(BatchError::Forecast(ForecastError::Cancelled)) => return super::end_unowned(ctx, job).await,
        Err(BatchError::Forecast(f)) => return Err(JobFailure::permanent(f.to_string())),
        Err(BatchError::Stopped(s)) => return Err(JobFailure::transient(s.to_string())),
    };
    let document = document(job.id, &payload, last, as_of, &stamps, &forecast);
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
        expected_return: Some(document.summary.expected_return),
        volatility: Some(document.summary.volatility),
        value_at_risk_5: Some(document.summary.value_at_risk_5),
        raw_forecast: Some(serde_json::to_value(&document.raw).map_err(SharedError::from)?),
        as_of,
        calendar: Some(payload.calendar.as_str().to_owned()),
    };
    let artifact = artifacts::NewArtifact {
        key: stored.key,
        job_id: Some(job.id),
        kind: "forecast".into(),
        content_type: "application/json".into(),
        size_bytes: stored.size,
        sha256: stored.sha256,
    };
    let facts = ForecastFacts {
        job_id: job.id,
        owner_id: job.owner_id,
        model: row.model.clone(),
        interval: payload.interval,
        horizon: payload.horizon,
        prob_up: document.prob_up,
        expected_return: document.summary.expected_return,
    };
    let result = PredictionResult { id: job.id, attempt: job.attempts, prediction: row, artifact };
    let committed = ctx.recorder.complete(result).await?;
    if committed {
        // live forecasts of stored series only: a backdated one tells nobody anything new
        if let (SeriesSource::Stored { symbol, asset_id, .. }, None) = (&payload.series, as_of) {
            let asset = Watched { asset_id: *asset_id, symbol };
            crate::notices::after_forecast(ctx, asset, &facts).await;
        }
        return Ok(Outcome::Succeeded);
    }
    super::end_unowned(ctx, job).await
}

/// Runs a Kronos request while reporting its decode progress (`path_steps` of
/// `samples × horizon`) and passing a client's cancellation on to the generation,
/// which drops the request between decode steps.
async fn watched(
    ctx: &PoolContext,
    job: &Claimed,
    request: ForecastRequest,
    watch: &RequestWatch,
    path_steps: usize,
) -> Result<Forecast, BatchError> {
    let progress = Arc::new(Progress::default());
    progress.stage("forecasting", path_steps);
    let _reporter = Reporter::start(ctx.pool.clone(), job.id, job.attempts, Arc::clone(&progress));
    let forecast = ctx.batcher.forecast(request);
    tokio::pin!(forecast);
    let mut tick = tokio::time::interval(WATCH_EVERY);
    loop {
        tokio::select! {
            result = &mut forecast => return result,
            _ = tick.tick() => {
                progress.set_done(watch.path_steps());
                if progress.cancelled() {
                    watch.cancel();
                }
            }
        }
    }
}

/// The forecast document: consistent bars, the raw mean path, direction and risk.
fn document(
    job_id: uuid::Uuid,
    payload: &PredictionPayload,
    last: Candle,
    as_of: Option<DateTime<Utc>>,
    stamps: &[DateTime<Utc>],
    forecast: &Forecast,
) -> ForecastDocument {
    let rows = stamps
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            ForecastRow::consistent(*ts, forecast.mean[i], forecast.p10[i], forecast.p50[i], forecast.p90[i])
        })
        .collect();
    let raw = stamps.iter().zip(&forecast.mean).map(|(ts, bar)| RawBar::new(*ts, *bar)).collect();
    ForecastDocument {
        job_id,
        model: payload.model.clone(),
        interval: payload.interval,
        last_ts: last.ts,
        last_close: last.close,
        prob_up: forecast.prob_up,
        summary: summary(forecast),
        calendar: payload.calendar,
        as_of,
        rows,
        raw,
    }
}

/// Direction and horizon risk of a forecast.
pub(crate) fn summary(forecast: &Forecast) -> ForecastSummary {
    ForecastSummary {
        direction: direction_of(forecast.prob_up).to_owned(),
        expected_return: forecast.risk.expected_return,
        volatility: forecast.risk.volatility,
        value_at_risk_5: forecast.risk.value_at_risk_5,
    }
}

/// A Kronos request: the weights on local disk, the time features of history and
/// future bars (wall-clock fields of the stored UTC times), the sampling settings.
pub(crate) async fn kronos_request(
    ctx: &PoolContext,
    settings: &KronosSettings,
    history: &[Candle],
    bars: Vec<Bar>,
    future: &[DateTime<Utc>],
    watch: Option<Arc<RequestWatch>>,
) -> Result<RequestModel, JobFailure> {
    let model = local_model(ctx, settings.model_id).await?;
    Ok(kronos_request_with(model, settings, history, bars, future, watch))
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
    watch: Option<Arc<RequestWatch>>,
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
        watch,
    };
    RequestModel::Kronos { model, series: Box::new(series), max_context: settings.max_context }
}

pub(crate) fn to_bar(c: &Candle) -> Bar {
    [c.open, c.high, c.low, c.close, c.volume, c.amount]
}
