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
}
