//! Walk-forward forecasts through the device's batcher: one forecast per window of
//! `context` candles ending at bar t (never later), submitted many at a time so that
//! the batcher runs them (and other jobs' predictions) as batched generations.
//!
//! A window's sample paths are seeded from the job's seed and the bar's time, so the
//! forecast at bar t is the same whatever range the backtest covers.

use std::sync::Arc;

use futures::{stream::FuturesUnordered, StreamExt};
use kronos_models::Bar;
use kronos_shared::{
    backtest::walk_forward::{ModelForecasts, Point, Window},
    jobs::{backtest::ModelSettings, payload::KronosSettings},
    market_data::{Candle, Interval},
};

use super::progress::Progress;
use crate::{
    batcher::{BatchError, ForecastRequest, RequestModel},
    model_library::LocalModel,
    pool::PoolContext,
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

/// The windows forecast over `bars` candles whose first traded bar is `first`: those
/// ending in the range, and the last one before it when its forecast still stands at
/// `first`.
pub fn windows(settings: &ModelSettings, bars: usize, first: usize) -> Vec<Window> {
    let plan = settings.plan();
    plan.windows(bars).into_iter().filter(|w| w.end + plan.every > first).collect()
}

/// The forecasts at bars `first..` of `candles` (oldest first; the bars before `first`
/// are context only), as per-bar series over those bars; each counts one unit of
/// `progress`.
pub async fn forecasts(
    ctx: &PoolContext,
    settings: &ModelSettings,
    interval: Interval,
    candles: &[Candle],
    first: usize,
    progress: &Progress,
) -> Result<ModelForecasts, Stopped> {
    let plan = settings.plan();
    let windows = windows(settings, candles.len(), first);
    let weights = match settings.model_id {
        Some(id) => Some(local_model(ctx, id).await?),
        None => None,
    };
    let mut pending = windows.iter();
    let mut in_flight = FuturesUnordered::new();
    let mut points = Vec::with_capacity(windows.len());
    loop {
        while in_flight.len() < IN_FLIGHT {
            let Some(w) = pending.next() else { break };
            let request = request(settings, weights.clone(), interval, candles, *w);
            let batcher = ctx.batcher.clone();
            let (end, last_close) = (w.end, candles[w.end].close);
            in_flight.push(async move { (end, last_close, batcher.forecast(request).await) });
        }
        let Some((end, last_close, forecast)) = in_flight.next().await else { break };
        let forecast = forecast.map_err(|e| match e {
            BatchError::Forecast(f) => JobFailure::permanent(format!("model: {f}")),
            BatchError::Stopped(s) => JobFailure::transient(s.to_string()),
        })?;
        let final_close = forecast.mean.last().map_or(f64::NAN, |bar| bar[3]);
        points.push(Point { end, prob_up: forecast.prob_up, expected_return: final_close / last_close - 1.0 });
        progress.advance();
        if progress.cancelled() {
            return Err(Stopped::Cancelled);
        }
    }
    let all = plan.assemble(candles.len(), &points);
    Ok(ModelForecasts {
        prob_up: all.prob_up[first..].to_vec(),
        expected_return: all.expected_return[first..].to_vec(),
    })
}

/// The request forecasting window `w`.
fn request(
    settings: &ModelSettings,
    weights: Option<Arc<LocalModel>>,
    interval: Interval,
    candles: &[Candle],
    w: Window,
) -> ForecastRequest {
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
            let stamps = interval.future_timestamps(last.ts, settings.horizon);
            kronos_request_with(weights, &kronos, window, bars, &stamps)
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
