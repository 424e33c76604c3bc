//! One series' forecast outside the model: the request, its normalisation and the
//! checks it must pass, and the summary (mean, quantiles, prob_up) of its sample paths.

use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc,
};

use super::inference::GenerateOptions;
use super::predictor::TIME_FEATURES;
use super::sampling::SamplingParams;
use super::KronosError;
use crate::baselines::quantile;
use crate::Bar;

/// Inputs are clipped to ±CLIP standard deviations after normalisation.
pub const CLIP: f32 = 5.0;

/// Added to the standard deviation before dividing.
pub const STD_EPSILON: f32 = 1e-5;

/// One series to forecast.
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    /// History, oldest first: open, high, low, close, volume, amount.
    pub history: Vec<Bar>,
    /// Time features of each history row (see [`super::time_features`]).
    pub stamps: Vec<[i64; TIME_FEATURES]>,
    /// Time features of the `pred_len` bars to forecast.
    pub future_stamps: Vec<[i64; TIME_FEATURES]>,
    /// How tokens are drawn, and how many sample paths.
    pub sampling: SamplingParams,
    /// Progress and cancellation, shared with whoever waits for the forecast.
    pub watch: Option<Arc<RequestWatch>>,
}

/// Progress and cancellation of one request while it is generated: the decode loop
/// counts the path-steps done and drops the request's rows between steps once it is
/// cancelled (the rest of the batch goes on).
#[derive(Debug, Default)]
pub struct RequestWatch {
    path_steps: AtomicUsize,
    cancelled: AtomicBool,
}

impl RequestWatch {
    /// Asks the generation to drop this request at its next step.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`RequestWatch::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Sample-path steps generated so far (of `samples × pred_len`).
    pub fn path_steps(&self) -> usize {
        self.path_steps.load(Ordering::Relaxed)
    }

    pub(crate) fn advance(&self, path_steps: usize) {
        self.path_steps.fetch_add(path_steps, Ordering::Relaxed);
    }
}

/// One series' forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesForecast {
    /// Mean of the sample paths (averaged in normalised space, as the reference does).
    pub mean: Vec<Bar>,
    /// 10th percentile across paths, per step and column.
    pub p10: Vec<Bar>,
    /// Median across paths.
    pub p50: Vec<Bar>,
    /// 90th percentile across paths.
    pub p90: Vec<Bar>,
    /// Share of paths whose final close is above the last observed close.
    pub prob_up: f64,
    /// Every path's tokens `(s1, s2)` for the generated steps.
    pub tokens: Vec<(Vec<i64>, Vec<i64>)>,
    /// Return and risk over the horizon across the sample paths.
    pub risk: crate::HorizonRisk,
}

impl SeriesForecast {
    /// The platform's common forecast shape: the mean path with close quantiles.
    pub fn to_forecast(&self) -> crate::Forecast {
        let close = |bars: &[Bar]| bars.iter().map(|b| b[crate::CLOSE]).collect();
        crate::Forecast {
            mean: self.mean.clone(),
            p10: close(&self.p10),
            p50: close(&self.p50),
            p90: close(&self.p90),
            prob_up: self.prob_up,
            risk: self.risk,
        }
    }

    /// Whether every number of the forecast is finite.
    pub(crate) fn is_finite(&self) -> bool {
        [&self.mean, &self.p10, &self.p50, &self.p90].iter().all(|bars| bars.iter().flatten().all(|v| v.is_finite()))
            && self.prob_up.is_finite()
    }
}

/// Fills a missing amount column the way the reference does: when every amount is 0
/// (the source had none) and there is volume, amount = volume × mean(open, high, low, close).
pub fn fill_missing_amount(history: &mut [Bar]) {
    let no_amount = history.iter().all(|b| b[5] == 0.0);
    let has_volume = history.iter().any(|b| b[4] != 0.0);
    if no_amount && has_volume {
        for b in history.iter_mut() {
            b[5] = b[4] * ((b[0] + b[1] + b[2] + b[3]) / 4.0);
        }
    }
}

/// Per-column mean and population standard deviation of a history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    /// Column means.
    pub mean: [f32; 6],
    /// Column standard deviations (ddof 0).
    pub std: [f32; 6],
}

impl Normalisation {
    /// Statistics over all rows.
    pub fn of(history: &[Bar]) -> Self {
        let n = history.len().max(1) as f64;
        let mut mean = [0f32; 6];
        let mut std = [0f32; 6];
        for c in 0..6 {
            let m = history.iter().map(|r| f64::from(r[c] as f32)).sum::<f64>() / n;
            let var = history.iter().map(|r| (f64::from(r[c] as f32) - m).powi(2)).sum::<f64>() / n;
            mean[c] = m as f32;
            std[c] = var.sqrt() as f32;
        }
        Self { mean, std }
    }

    /// `clip((x − μ)/(σ + 1e-5), ±5)` in f32.
    pub fn apply(&self, row: &Bar) -> [f32; 6] {
        std::array::from_fn(|c| ((row[c] as f32 - self.mean[c]) / (self.std[c] + STD_EPSILON)).clamp(-CLIP, CLIP))
    }

    /// Back to price units.
    pub fn invert(&self, row: &[f32; 6]) -> [f32; 6] {
        std::array::from_fn(|c| row[c] * (self.std[c] + STD_EPSILON) + self.mean[c])
    }
}

/// Writes `request`'s normalised history into row `row` of a `[rows, width, 6]` buffer,
/// after `pad` padding columns (rows are right-aligned).
pub(crate) fn write_history(
    x: &mut [f32],
    row: usize,
    width: usize,
    pad: usize,
    request: &SeriesRequest,
    norm: &Normalisation,
) {
    for (t, bar) in request.history.iter().enumerate() {
        let at = (row * width + pad + t) * 6;
        x[at..at + 6].copy_from_slice(&norm.apply(bar));
    }
}

/// Writes the time features of `request`'s history and then of its forecast steps into
/// row `row` of a `[rows, width, TIME_FEATURES]` buffer, after `pad` padding columns.
pub(crate) fn write_stamps(stamps: &mut [i64], row: usize, width: usize, pad: usize, request: &SeriesRequest) {
    for (t, stamp) in request.stamps.iter().chain(request.future_stamps.iter()).enumerate() {
        let at = (row * width + pad + t) * TIME_FEATURES;
        stamps[at..at + TIME_FEATURES].copy_from_slice(stamp);
    }
}

/// One generated path: normalised bars, then the s1 and s2 tokens of each step.
pub(crate) type GeneratedPath = (Vec<[f32; 6]>, Vec<i64>, Vec<i64>);

/// Mean path, quantiles and prob_up of one series' sample paths.
pub(crate) fn summarise(request: &SeriesRequest, norm: &Normalisation, paths: Vec<GeneratedPath>) -> SeriesForecast {
    let horizon = paths.first().map_or(0, |p| p.0.len());
    let n = paths.len() as f64;
    let clamp = |mut bar: Bar| {
        bar[4] = bar[4].max(0.0);
        bar[5] = bar[5].max(0.0);
        bar
    };
    let mean: Vec<Bar> = (0..horizon)
        .map(|t| {
            let avg: [f32; 6] =
                std::array::from_fn(|c| (paths.iter().map(|p| f64::from(p.0[t][c])).sum::<f64>() / n) as f32);
            clamp(norm.invert(&avg).map(f64::from))
        })
        .collect();
    let real: Vec<Vec<[f32; 6]>> = paths.iter().map(|p| p.0.iter().map(|b| norm.invert(b)).collect()).collect();
    let band = |q: f64| -> Vec<Bar> {
        (0..horizon)
            .map(|t| {
                clamp(std::array::from_fn(|c| {
                    let mut values: Vec<f64> = real.iter().map(|p| f64::from(p[t][c])).collect();
                    values.sort_by(f64::total_cmp);
                    quantile(&values, q)
                }))
            })
            .collect()
    };
    let last_close = request.history.last().map_or(0.0, |b| b[crate::CLOSE]);
    let ups = real.iter().filter(|p| p.last().is_some_and(|b| f64::from(b[crate::CLOSE]) > last_close)).count();
    let returns: Vec<f64> =
        real.iter().filter_map(|p| p.last()).map(|b| f64::from(b[crate::CLOSE]) / last_close - 1.0).collect();
    let mean_final = mean.last().map_or(last_close, |b| b[crate::CLOSE]);
    SeriesForecast {
        risk: crate::HorizonRisk::new(last_close, mean_final, returns),
        mean,
        p10: band(0.1),
        p50: band(0.5),
        p90: band(0.9),
        prob_up: ups as f64 / n,
        tokens: paths.into_iter().map(|p| (p.1, p.2)).collect(),
    }
}

/// Whether request `i` can be forecast: shapes, values that 32-bit floats hold, a
/// normalisation with finite statistics, valid sampling settings.
pub(crate) fn check_series(r: &SeriesRequest, options: &GenerateOptions) -> Result<(), KronosError> {
    if r.history.is_empty() {
        return Err(KronosError::Input("empty history".to_owned()));
    }
    if r.stamps.len() != r.history.len() {
        return Err(KronosError::Input(format!("{} stamps for {} rows", r.stamps.len(), r.history.len())));
    }
    if r.future_stamps.len() != options.pred_len {
        return Err(KronosError::Input(format!(
            "{} future stamps for pred_len {}",
            r.future_stamps.len(),
            options.pred_len
        )));
    }
    // the model computes in f32: a value beyond its range would turn into infinity
    if r.history.iter().flatten().any(|v| !v.is_finite() || v.abs() > f64::from(f32::MAX) / 16.0) {
        return Err(KronosError::Input(
            "the history holds a value that cannot be forecast (beyond what 32-bit floats hold)".to_owned(),
        ));
    }
    let norm = Normalisation::of(&r.history);
    if norm.mean.iter().chain(norm.std.iter()).any(|v| !v.is_finite()) {
        return Err(KronosError::Input("the series cannot be normalised (values too large)".to_owned()));
    }
    r.sampling.validate()
}
