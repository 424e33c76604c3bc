//! Accuracy of close-price forecasts, always computed beside the naive baseline on the
//! same windows.
//!
//! * MAE, RMSE and MAPE are over every forecast step of every window.
//! * Direction accuracy is per window: whether the forecast's final close is above the
//!   last observed close, against whether the actual final close was. A window whose
//!   actual final close equals the last close counts as "not up".
//! * The naive baseline forecasts the last observed close for every step. Its
//!   direction is the direction of the last observed bar (persistence): a flat
//!   forecast has no direction of its own.

use serde::{Deserialize, Serialize};

/// One forecast against what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastOutcome {
    /// Last observed close before the forecast.
    pub last_close: f64,
    /// Close before that one (for the naive direction); `None` when unknown.
    pub previous_close: Option<f64>,
    /// Forecast closes, one per step.
    pub forecast: Vec<f64>,
    /// Actual closes, one per step (same length as `forecast`).
    pub actual: Vec<f64>,
}

/// Error measures of one forecaster.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CloseMetrics {
    /// Mean absolute error (price units).
    pub mae: f64,
    /// Root mean squared error (price units).
    pub rmse: f64,
    /// Mean absolute percentage error, as a fraction (0.02 = 2 %).
    pub mape: f64,
    /// Share of windows whose final direction was right.
    pub direction_accuracy: f64,
}

/// A forecaster's metrics beside the naive baseline's on the same windows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Windows (or predictions) compared.
    pub windows: usize,
    /// The forecaster.
    pub model: CloseMetrics,
    /// Naive last value on the same windows.
    pub naive: CloseMetrics,
}

impl Comparison {
    /// Computes both; `None` when there is no outcome with at least one step.
    pub fn of(outcomes: &[ForecastOutcome]) -> Option<Self> {
        let mut model = ErrorSums::default();
        let mut naive = ErrorSums::default();
        for o in outcomes.iter().filter(|o| !o.actual.is_empty() && o.forecast.len() == o.actual.len()) {
            model.add(o, &o.forecast, o.forecast.last().is_some_and(|f| *f > o.last_close));
            naive.add(o, &vec![o.last_close; o.actual.len()], o.previous_close.is_some_and(|p| o.last_close > p));
        }
        (model.windows > 0).then(|| Self { windows: model.windows, model: model.metrics(), naive: naive.metrics() })
    }
}

/// Running sums from which [`CloseMetrics`] are computed exactly, so that stored
/// per-forecast sums aggregate over any grouping (per model, asset, user).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorSums {
    /// Forecasts (windows) added.
    pub windows: usize,
    /// Steps added.
    pub steps: usize,
    /// Σ |forecast − actual|.
    pub abs: f64,
    /// Σ (forecast − actual)².
    pub squared: f64,
    /// Σ |forecast − actual| / |actual| over steps with a non-zero actual.
    pub pct: f64,
    /// Steps counted in `pct`.
    pub pct_steps: usize,
    /// Windows whose final direction was right.
    pub hits: usize,
}

impl ErrorSums {
    /// Adds one forecast of `outcome`'s actual closes; `says_up` is its direction.
    pub fn add(&mut self, outcome: &ForecastOutcome, forecast: &[f64], says_up: bool) {
        for (f, a) in forecast.iter().zip(&outcome.actual) {
            let e = f - a;
            self.abs += e.abs();
            self.squared += e * e;
            self.steps += 1;
            if *a != 0.0 {
                self.pct += (e / a).abs();
                self.pct_steps += 1;
            }
        }
        let went_up = outcome.actual.last().is_some_and(|a| *a > outcome.last_close);
        self.windows += 1;
        self.hits += usize::from(says_up == went_up);
    }

    /// The metrics (NaN where nothing was counted).
    pub fn metrics(&self) -> CloseMetrics {
        let per = |x: f64, n: usize| if n > 0 { x / n as f64 } else { f64::NAN };
        CloseMetrics {
            mae: per(self.abs, self.steps),
            rmse: per(self.squared, self.steps).sqrt(),
            mape: per(self.pct, self.pct_steps),
            direction_accuracy: per(self.hits as f64, self.windows),
        }
    }
}

/// Steps whose actual close lies within `[p10, p90]` (inclusive).
pub fn covered_steps(p10: &[f64], p90: &[f64], actual: &[f64]) -> usize {
    p10.iter().zip(p90).zip(actual).filter(|((lo, hi), a)| *lo <= *a && *a <= *hi).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        let outcomes = vec![
            ForecastOutcome {
                last_close: 100.0,
                previous_close: Some(99.0),
                forecast: vec![101.0, 103.0],
                actual: vec![102.0, 104.0],
            },
            ForecastOutcome { last_close: 50.0, previous_close: Some(51.0), forecast: vec![52.0], actual: vec![48.0] },
        ];
        let c = Comparison::of(&outcomes).unwrap();
        assert_eq!(c.windows, 2);
        // model errors: -1, -1, +4 → MAE 2, RMSE √6, MAPE (1/102 + 1/104 + 4/48)/3
        assert!((c.model.mae - 2.0).abs() < 1e-12);
        assert!((c.model.rmse - 6f64.sqrt()).abs() < 1e-12);
        assert!((c.model.mape - (1.0 / 102.0 + 1.0 / 104.0 + 4.0 / 48.0) / 3.0).abs() < 1e-12);
        // directions: up/up hit, up/down miss
        assert!((c.model.direction_accuracy - 0.5).abs() < 1e-12);
        // naive errors: -2, -4, +2 → MAE 8/3, RMSE √8
        assert!((c.naive.mae - 8.0 / 3.0).abs() < 1e-12);
        assert!((c.naive.rmse - 8f64.sqrt()).abs() < 1e-12);
        // naive directions: last bar up (100 > 99) and actual up: hit; last bar down, actual down: hit
        assert!((c.naive.direction_accuracy - 1.0).abs() < 1e-12);
        assert!(Comparison::of(&[]).is_none());
        assert_eq!(covered_steps(&[1.0, 5.0, 2.0], &[3.0, 6.0, 2.0], &[3.0, 4.0, 2.0]), 2);
    }
}
