//! Evaluation jobs: a model forecasts walk-forward over stored candles (the forecast at
//! bar t sees the `context` bars up to t only, through the pool's batcher like any
//! prediction), and every forecast is scored at once against the `horizon` bars that
//! followed, beside the naive baseline on the same steps. The scores go to
//! `evaluation_results` (read by `GET /v1/accuracy` beside live forecasts); the job's
//! result summarises them per asset and overall.

use std::sync::Arc;

use crate::error::Error as SharedError;
use chrono::Duration;
use kronos_backtest::walk_forward::Window;
use kronos_db::{
    candles, evaluation_results, evaluation_results::NewEvaluationResult, jobs, jobs::Claimed,
    prediction_results::NewResult,
};
use kronos_models::{
    metrics::{Comparison, ForecastOutcome},
    Forecast,
};
use kronos_types::{
    jobs::evaluation::EvaluationPayload,
    jobs::payload::ForecastRow,
    jobs::results::{AssetEvaluation, EvaluationAccuracy, EvaluationResult, ModelAccuracy, NaiveAccuracy},
    Candle,
};

use super::{
    scoring::{score, Forecasted},
    JobFailure, Outcome,
};
use crate::{
    backtest::walk_forward::{forecast_windows, future_bars, Plan, Stopped},
    pool::PoolContext,
    progress::{Progress, Reporter},
};

/// One asset's candles and the windows forecast over them.
struct Loaded {
    candles: Vec<Candle>,
    windows: Vec<Window>,
}

/// Runs one claimed evaluation job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: EvaluationPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable evaluation payload: {e}")))?;
    payload.validate()?;
    if payload.asset_ids.len() != payload.symbols.len() {
        return Err(JobFailure::permanent("the payload's assets were not resolved"));
    }
    let progress = Arc::new(Progress::default());
    let _reporter = Reporter::start(ctx.pool.clone(), job.id, job.attempts, Arc::clone(&progress));
    progress.stage("loading", payload.symbols.len());
    let mut loaded = Vec::with_capacity(payload.symbols.len());
    for i in 0..payload.symbols.len() {
        loaded.push(load(ctx, &payload, i).await?);
        progress.advance();
    }
    progress.stage("forecasting", loaded.iter().map(|l| l.windows.len()).sum());
    let owner = {
        let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
        jobs::find(&mut conn, job.id).await?.and_then(|j| j.owner_id)
    };
    let mut results: Vec<(usize, NewResult)> = Vec::new();
    let mut failed = vec![0usize; loaded.len()];
    let mut first_error: Option<String> = None;
    for (i, asset) in loaded.iter().enumerate() {
        let calendar = payload.calendars.get(i).copied().unwrap_or_default();
        let plan = Plan { settings: &payload.model, interval: payload.interval, calendar };
        let scored =
            forecast_windows(ctx, plan, &asset.candles, &asset.windows, &progress, |w, forecast| match forecast {
                Ok(forecast) => {
                    let facts = Forecasted {
                        job_id: job.id,
                        model: payload.model.name.clone(),
                        asset_id: payload.asset_ids[i],
                        owner_id: owner,
                        interval: payload.interval.as_str().to_owned(),
                        predicted_at: asset.candles[w.end].ts,
                        last_close: asset.candles[w.end].close,
                        previous_close: w.end.checked_sub(1).map(|p| asset.candles[p].close),
                    };
                    let rows = rows(plan, &asset.candles[w.end], &forecast);
                    let h = payload.model.horizon;
                    let actual = asset.candles[w.end + 1..=w.end + h].iter().map(|c| c.close).collect();
                    results.push((i, score(&facts, &rows, actual)));
                }
                Err(e) => {
                    failed[i] += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
            })
            .await;
        match scored {
            Ok(()) => {}
            Err(Stopped::Cancelled) => return super::end_unowned(ctx, job).await,
            Err(Stopped::Failed(f)) => return Err(f),
        }
    }
    if results.is_empty() {
        let why = first_error.unwrap_or_else(|| "no window to forecast".into());
        return Err(JobFailure::permanent(format!("no forecast could be made: {why}")));
    }
    progress.stage("storing", 1);
    let summary = summary(&payload, &loaded, &results, &failed);
    let rows: Vec<NewEvaluationResult> = results.into_iter().map(|(_, r)| r.into()).collect();
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    evaluation_results::insert_many(&mut conn, &rows).await?;
    drop(conn);
    super::succeed_with(ctx, job, &summary).await
}

/// Asset `i`'s candles: `context − 1` bars before the range (the first forecast's
/// history), the range, and `horizon` bars after it (the last forecasts' actuals); the
/// windows are every `every`-th bar of the range with a full context and `horizon`
/// bars after it.
async fn load(ctx: &PoolContext, payload: &EvaluationPayload, i: usize) -> Result<Loaded, JobFailure> {
    let (asset_id, symbol, interval) = (payload.asset_ids[i], &payload.symbols[i], payload.interval);
    let settings = &payload.model;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let range = candles::range(&mut conn, asset_id, interval, payload.from, payload.to, i64::MAX).await?;
    let (Some(first), Some(last)) = (range.first().copied(), range.last().copied()) else {
        return Err(JobFailure::permanent(format!("symbols[{i}]: {symbol} has no {interval} candles in the range")));
    };
    let before_count = settings.context.saturating_sub(1) as i64;
    let mut all = if before_count > 0 {
        candles::range(&mut conn, asset_id, interval, None, Some(first.ts - Duration::seconds(1)), before_count).await?
    } else {
        Vec::new()
    };
    let start = all.len();
    let in_range = range.len();
    all.extend(range);
    all.extend(candles::first_after(&mut conn, asset_id, interval, last.ts, settings.horizon as i64).await?);
    let ends = (start..start + in_range)
        .filter(|&t| t + 1 >= settings.context && t + settings.horizon < all.len())
        .step_by(settings.every.max(1));
    let windows = ends.map(|end| Window { end, start: end + 1 - settings.context }).collect();
    Ok(Loaded { candles: all, windows })
}

/// A forecast's rows as predictions store them (consistent candles on the calendar's bars).
fn rows(plan: Plan<'_>, last: &Candle, forecast: &Forecast) -> Vec<ForecastRow> {
    future_bars(plan, last.ts)
        .into_iter()
        .enumerate()
        .map(|(k, ts)| ForecastRow::consistent(ts, forecast.mean[k], forecast.p10[k], forecast.p50[k], forecast.p90[k]))
        .collect()
}

/// The job's result: accuracy beside naive per asset and overall, and coverage of the
/// forecasts' [p10, p90] band.
fn summary(
    payload: &EvaluationPayload,
    loaded: &[Loaded],
    results: &[(usize, NewResult)],
    failed: &[usize],
) -> EvaluationResult {
    let assets = payload
        .symbols
        .iter()
        .enumerate()
        .map(|(i, symbol)| {
            let rows: Vec<&NewResult> = results.iter().filter(|(a, _)| *a == i).map(|(_, r)| r).collect();
            let bars = &loaded[i].windows;
            AssetEvaluation {
                symbol: symbol.clone(),
                windows: bars.len(),
                failed_windows: failed[i],
                first_forecast: bars.first().map(|w| loaded[i].candles[w.end].ts),
                last_forecast: bars.last().map(|w| loaded[i].candles[w.end].ts),
                accuracy: accuracy(&rows),
            }
        })
        .collect();
    let all: Vec<&NewResult> = results.iter().map(|(_, r)| r).collect();
    EvaluationResult {
        model: payload.model.name.clone(),
        settings: payload.model.clone(),
        interval: payload.interval,
        symbols: payload.symbols.clone(),
        forecasts: results.len(),
        failed_windows: failed.iter().sum(),
        accuracy: accuracy(&all),
        assets,
        accuracy_link: format!("/v1/accuracy?model={}&source=evaluation", payload.model.name),
    }
}

/// Accuracy beside naive of `rows`; `None` when none has a step. Directions as
/// verification scores them (naive: the last bar's direction).
fn accuracy(rows: &[&NewResult]) -> Option<EvaluationAccuracy> {
    let outcomes: Vec<ForecastOutcome> = rows
        .iter()
        .map(|r| ForecastOutcome {
            last_close: r.last_close,
            previous_close: None,
            forecast: r.forecast.clone(),
            actual: r.actual.clone(),
        })
        .collect();
    let c = Comparison::of(&outcomes)?;
    let steps: i32 = rows.iter().map(|r| r.steps).sum();
    let covered: i32 = rows.iter().map(|r| r.covered_steps).sum();
    let n = rows.len().max(1) as f64;
    let finite = |x: f64| x.is_finite().then_some(x);
    Some(EvaluationAccuracy {
        forecasts: rows.len(),
        steps: i64::from(steps),
        model: ModelAccuracy {
            mae: c.model.mae,
            rmse: c.model.rmse,
            mape: finite(c.model.mape),
            direction_accuracy: rows.iter().filter(|r| r.direction_hit).count() as f64 / n,
            coverage_p10_p90: f64::from(covered) / f64::from(steps.max(1)),
        },
        naive: NaiveAccuracy {
            mae: c.naive.mae,
            rmse: c.naive.rmse,
            mape: finite(c.naive.mape),
            direction_accuracy: rows.iter().filter(|r| r.naive_direction_hit).count() as f64 / n,
        },
        beats_naive_mae: c.model.mae < c.naive.mae,
    })
}
