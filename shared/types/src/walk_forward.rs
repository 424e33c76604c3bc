//! Walk-forward model forecasts: at every `every`-th bar t from the first with a full
//! context, the model sees the `context` bars ending at t (never a later one) and
//! forecasts `horizon` steps; the strategy reads what it said at t. Between forecasts
//! (`every` > 1) the latest forecast stands, which is still only knowledge up to t.

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    jobs::payload::KronosSettings,
};

/// What a model said at each bar (`NaN` before its first forecast).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelForecasts {
    /// Share of sample paths whose final close ends above bar t's close.
    pub prob_up: Vec<f64>,
    /// Mean path's final close / bar t's close − 1.
    pub expected_return: Vec<f64>,
}

impl ModelForecasts {
    /// Bars covered.
    pub fn len(&self) -> usize {
        self.prob_up.len()
    }

    /// Whether no bars are covered.
    pub fn is_empty(&self) -> bool {
        self.prob_up.is_empty()
    }
}

/// Which windows a walk-forward pass forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForward {
    /// Bars the model sees.
    pub context: usize,
    /// Steps it forecasts.
    pub horizon: usize,
    /// Forecast every this many bars.
    pub every: usize,
}

/// One forecast to make: the window `[end + 1 − context, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The bar the forecast is made at (its last candle).
    pub end: usize,
    /// Its first candle.
    pub start: usize,
}

/// One forecast made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The bar it was made at.
    pub end: usize,
    /// See [`ModelForecasts::prob_up`].
    pub prob_up: f64,
    /// See [`ModelForecasts::expected_return`].
    pub expected_return: f64,
}

impl WalkForward {
    /// Checks the settings; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        if !(2..=4096).contains(&self.context) {
            return Err(Error::invalid("context", "context must be from 2 to 4096 bars"));
        }
        if !(1..=512).contains(&self.horizon) {
            return Err(Error::invalid("horizon", "horizon must be from 1 to 512"));
        }
        if !(1..=10_000).contains(&self.every) {
            return Err(Error::invalid("every", "every must be from 1 to 10000 bars"));
        }
        Ok(())
    }

    /// The windows over `bars` bars, oldest first.
    pub fn windows(&self, bars: usize) -> Vec<Window> {
        (self.context.max(1) - 1..bars)
            .step_by(self.every.max(1))
            .map(|end| Window { end, start: end + 1 - self.context })
            .collect()
    }

    /// The per-bar series from the forecasts made (each holds until the next).
    pub fn assemble(&self, bars: usize, points: &[Point]) -> ModelForecasts {
        let mut out = ModelForecasts { prob_up: vec![f64::NAN; bars], expected_return: vec![f64::NAN; bars] };
        let mut sorted: Vec<&Point> = points.iter().filter(|p| p.end < bars).collect();
        sorted.sort_by_key(|p| p.end);
        for (i, p) in sorted.iter().enumerate() {
            let until =
                sorted.get(i + 1).map_or((p.end + self.every).min(bars), |next| next.end.min(p.end + self.every));
            for t in p.end..until {
                out.prob_up[t] = p.prob_up;
                out.expected_return[t] = p.expected_return;
            }
        }
        out
    }
}

/// A model strategy's forecaster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelSettings {
    /// Registered model (`lineage`, `lineage@N`, a version name) or `naive` / `drift`.
    pub name: String,
    /// Registry id (resolved by the API; `None` for baselines).
    #[serde(default)]
    pub model_id: Option<i64>,
    /// Bars the model sees at each forecast.
    #[serde(default = "default_context")]
    pub context: usize,
    /// Steps each forecast looks ahead.
    #[serde(default = "default_horizon")]
    pub horizon: usize,
    /// Forecast every this many bars (the latest forecast stands in between).
    #[serde(default = "default_every")]
    pub every: usize,
    /// Sample paths per forecast (Kronos).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Softmax temperature (Kronos).
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Top-k filter (0 = off).
    #[serde(default)]
    pub top_k: usize,
    /// Nucleus threshold.
    #[serde(default = "default_top_p")]
    pub top_p: f64,
    /// Seed of the sample paths (each forecast's paths are seeded from it).
    #[serde(default)]
    pub seed: u64,
}

/// Defaults of the walk-forward plan.
impl ModelSettings {
    /// Default bars the model sees.
    pub const DEFAULT_CONTEXT: usize = 64;
    /// Default steps each forecast looks ahead.
    pub const DEFAULT_HORIZON: usize = 5;
    /// Default bars between forecasts.
    pub const DEFAULT_EVERY: usize = 1;
}

fn default_context() -> usize {
    ModelSettings::DEFAULT_CONTEXT
}
fn default_horizon() -> usize {
    ModelSettings::DEFAULT_HORIZON
}
fn default_every() -> usize {
    ModelSettings::DEFAULT_EVERY
}
fn default_samples() -> usize {
    KronosSettings::DEFAULT_SAMPLES
}
fn default_temperature() -> f64 {
    KronosSettings::DEFAULT_TEMPERATURE
}
fn default_top_p() -> f64 {
    KronosSettings::DEFAULT_TOP_P
}

impl ModelSettings {
    /// The walk-forward plan.
    pub fn plan(&self) -> WalkForward {
        WalkForward { context: self.context, horizon: self.horizon, every: self.every }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_never_reaches_past_its_bar() {
        let plan = WalkForward { context: 5, horizon: 3, every: 2 };
        let windows = plan.windows(12);
        assert_eq!(windows.first(), Some(&Window { end: 4, start: 0 }));
        assert_eq!(windows.iter().map(|w| w.end).collect::<Vec<_>>(), vec![4, 6, 8, 10]);
        assert!(windows.iter().all(|w| w.end + 1 - w.start == 5));
        assert!(WalkForward { context: 20, horizon: 1, every: 1 }.windows(10).is_empty());
    }

    #[test]
    fn forecasts_hold_until_the_next_and_never_before_they_are_made() {
        let plan = WalkForward { context: 2, horizon: 1, every: 2 };
        let points = [
            Point { end: 3, prob_up: 0.7, expected_return: 0.02 },
            Point { end: 1, prob_up: 0.6, expected_return: 0.01 },
        ];
        let f = plan.assemble(6, &points);
        assert!(f.prob_up[0].is_nan());
        assert_eq!(&f.prob_up[1..5], &[0.6, 0.6, 0.7, 0.7]);
        assert!(f.prob_up[5].is_nan(), "the bar-5 forecast was not made");
        assert!(WalkForward { context: 1, horizon: 1, every: 1 }.validate().is_err());
    }
}
