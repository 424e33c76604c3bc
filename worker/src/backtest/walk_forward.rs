//! Walk-forward forecasts through the device's batcher: one forecast per window of
//! `context` candles ending at bar t (never later), submitted many at a time so that
//! the batcher runs them (and other jobs' predictions) as batched generations.
//! Backtests trade on them; evaluation jobs verify them.
//!
//! A window's sample paths are seeded from the job's seed and the bar's time, so the
//! forecast at bar t is the same whatever range the job covers. A window the model
//! cannot forecast fails alone (the batcher isolates it from the rest of its batch).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::{stream::FuturesUnordered, StreamExt};
use kronos_backtest::{walk_forward::ModelForecasts, walk_forward::Point, walk_forward::Window};
use kronos_models::{Bar, Forecast, ForecastError};
use kronos_types::{jobs::payload::KronosSettings, walk_forward::ModelSettings, Calendar, Candle, Interval};

use crate::{
    batcher::{BatchError, ForecastRequest, RequestModel},
    model_library::LocalModel,
    pool::PoolContext,
    progress::Progress,
    runner::{
        prediction::{kronos_request_with, local_model, to_bar},
        JobFailure,
    },
};

/// Forecasts in flight at once (several of the batcher's batches).
const IN_FLIGHT: usize = 256;

/// Why walk-forward forecasting stopped.
pub enum Stopped {
    /// The job was cancelled or lost.
    Cancelled,
    /// It failed.
    Failed(JobFailure),
}

impl From<JobFailure> for Stopped {
    fn from(f: JobFailure) -> Self {
        Self::Failed(f)
    }
}

/// How a series is forecast: the model settings, and the bars' interval and calendar.
#[derive(Clone, Copy)]
pub struct Plan<'a> {
    /// Model and walk-forward settings.
    pub settings: &'a ModelSettings,
    /// Bar interval.
    pub interval: Interval,
    /// The asset's trading calendar (the forecast's future bar times).
    pub calendar: Calendar,
}

/// The windows forecast over `bars` candles whose first traded bar is `first`: those
/// ending in the range, and the last one before it when its forecast still stands at
/// `first`.
pub fn windows(settings: &ModelSettings, bars: usize, first: usize) -> Vec<Window> {
    let plan = settings.plan();
    plan.windows(bars).into_iter().filter(|w| w.end + plan.every > first).collect()
}

/// Forecasts every window of `candles`, [`IN_FLIGHT`] at a time, and hands each
/// window's outcome to `each` as it completes (in completion order). Each counts one
/// unit of `progress`; a cancelled job stops between forecasts.
pub async fn forecast_windows<F>(
    ctx: &PoolContext,
    plan: Plan<'_>,
    candles: &[Candle],
    windows: &[Window],
    progress: &Progress,
    mut each: F,
) -> Result<(), Stopped>
where
    F: FnMut(Window, Result<Forecast, ForecastError>),
{
    let weights = match plan.settings.model_id {
        Some(id) => Some(local_model(ctx, id).await?),
        None => None,
    };
    let mut pending = windows.iter();
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < IN_FLIGHT {
            let Some(w) = pending.next() else { break };
            let request = request(plan, weights.clone(), candles, *w);
            let batcher = ctx.batcher.clone();
            let w = *w;
            in_flight.push(async move { (w, batcher.forecast(request).await) });
        }
        let Some((window, forecast)) = in_flight.next().await else { break };
        match forecast {
            Ok(f) => each(window, Ok(f)),
            Err(BatchError::Forecast(e)) => each(window, Err(e)),
            Err(BatchError::Stopped(s)) => return Err(Stopped::Failed(JobFailure::transient(s.to_string()))),
        }
        progress.advance();
        if progress.cancelled() {
            return Err(Stopped::Cancelled);
        }
    }
    Ok(())
}

/// A backtest's forecasts at bars `first..` of `candles` (oldest first; the bars before
/// `first` are context only), as per-bar series over those bars, and how many windows
/// the model could not forecast (those bars carry the previous forecast, or none).
/// Fails only when no window could be forecast.
pub async fn forecasts(
    ctx: &PoolContext,
    plan: Plan<'_>,
    candles: &[Candle],
    first: usize,
    progress: &Progress,
) -> Result<(ModelForecasts, usize), Stopped> {
    let windows = windows(plan.settings, candles.len(), first);
    let mut points = Vec::with_capacity(windows.len());
    let mut failed = 0usize;
    let mut first_error = None;
    forecast_windows(ctx, plan, candles, &windows, progress, |w, forecast| match forecast {
        Ok(forecast) => {
            let final_close = forecast.mean.last().map_or(f64::NAN, |bar| bar[3]);
            let last_close = candles[w.end].close;
            points.push(Point {
                end: w.end,
                prob_up: forecast.prob_up,
                expected_return: final_close / last_close - 1.0,
            });
        }
        Err(e) => {
            failed += 1;
            first_error.get_or_insert(e);
        }
    })
    .await?;
    if points.is_empty() {
        if let Some(e) = first_error {
            return Err(Stopped::Failed(JobFailure::permanent(format!("model: {e}"))));
        }
    }
    let all = plan.settings.plan().assemble(candles.len(), &points);
    let forecasts = ModelForecasts {
        prob_up: all.prob_up[first..].to_vec(),
        expected_return: all.expected_return[first..].to_vec(),
    };
    Ok((forecasts, failed))
}

/// The bar times a window's forecast covers (the calendar's next trading bars).
pub fn future_bars(plan: Plan<'_>, last: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    plan.calendar.next_bars(plan.interval, last, plan.settings.horizon)
}

/// The request forecasting window `w`.
fn request(plan: Plan<'_>, weights: Option<Arc<LocalModel>>, candles: &[Candle], w: Window) -> ForecastRequest {
    let settings = plan.settings;
    let window = &candles[w.start..=w.end];
    let last = candles[w.end];
    let bars: Vec<Bar> = window.iter().map(to_bar).collect();
    let model = match weights {
        None => RequestModel::Baseline(settings.name.clone(), bars),
        Some(weights) => {
            let kronos = KronosSettings {
                model_id: weights.id,
                samples: settings.samples,
                temperature: settings.temperature,
                top_k: settings.top_k,
                top_p: settings.top_p,
                seed: window_seed(settings.seed, last.ts.timestamp()),
                max_context: settings.context,
            };
            let stamps = future_bars(plan, last.ts);
            kronos_request_with(weights, &kronos, window, bars, &stamps, None)
        }
    };
    ForecastRequest { model, horizon: settings.horizon }
}

/// The seed of the window ending at `time` (SplitMix64 of seed and time).
fn window_seed(seed: u64, time: i64) -> u64 {
    let mut z = seed ^ (time as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
