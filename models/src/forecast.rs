//! The output every forecaster produces.

use thiserror::Error;

use crate::Bar;

/// A forecast of `horizon` steps: the mean path plus close quantiles across paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Mean path, one bar per step.
    pub mean: Vec<Bar>,
    /// 10th percentile of the close per step.
    pub p10: Vec<f64>,
    /// Median close per step.
    pub p50: Vec<f64>,
    /// 90th percentile of the close per step.
    pub p90: Vec<f64>,
    /// Probability that the final close ends above the last observed close.
    pub prob_up: f64,
    /// Return and risk over the whole horizon.
    pub risk: HorizonRisk,
}

/// What the horizon holds for a position opened at the last close, from the
/// distribution of horizon returns `final close / last close − 1` across sample paths
/// (for the baselines: across their empirical distribution).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HorizonRisk {
    /// The mean path's final close over the last close, minus 1.
    pub expected_return: f64,
    /// Standard deviation of the horizon returns (population; 0 with one path).
    pub volatility: f64,
    /// 5 % value at risk: minus the 5th percentile of the horizon returns, i.e. the
    /// loss (as a fraction of the last close) that 5 % of paths exceed; negative when
    /// even those paths gain.
    pub value_at_risk_5: f64,
}

impl HorizonRisk {
    /// From the mean path's final close and the horizon returns of every path.
    pub fn new(last_close: f64, mean_final_close: f64, mut returns: Vec<f64>) -> Self {
        returns.retain(|r| r.is_finite());
        returns.sort_by(f64::total_cmp);
        let n = returns.len().max(1) as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let variance = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
        Self {
            expected_return: mean_final_close / last_close - 1.0,
            volatility: variance.sqrt(),
            value_at_risk_5: -crate::baselines::quantile(&returns, 0.05),
        }
    }
}

/// Why a forecast could not be made.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ForecastError {
    /// The history is too short for the request.
    #[error("need at least {needed} candles of history, got {got}")]
    TooShort {
        /// Candles needed.
        needed: usize,
        /// Candles given.
        got: usize,
    },
    /// The horizon is zero.
    #[error("horizon must be at least 1")]
    ZeroHorizon,
    /// A close is not a positive number.
    #[error("close at row {0} is not a positive number")]
    BadPrice(usize),
    /// The model name is unknown.
    #[error("unknown model {0:?}")]
    UnknownModel(String),
    /// A neural model could not run (bad weights, bad settings, libtorch failure).
    #[error("{0}")]
    Model(String),
    /// The request was cancelled while it ran.
    #[error("cancelled")]
    Cancelled,
}
