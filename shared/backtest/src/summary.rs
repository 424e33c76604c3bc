//! A backtest job's result: what ran, on which bars, its metrics, the sweep's best
//! points and the object-store keys of its tables. Stored as the job's result and as
//! the run's `summary.json`; `GET /v1/backtests/{id}` shows it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{engine::EngineConfig, performance::Metrics, sweep::SweepPoint, walk_forward::ModelSettings};
use kronos_types::Interval;

/// The summary of a finished backtest.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BacktestSummary {
    /// Assets traded.
    pub symbols: Vec<String>,
    /// Candle interval.
    pub interval: Interval,
    /// Bars simulated.
    pub bars: usize,
    /// First simulated bar.
    pub first_bar: Option<DateTime<Utc>>,
    /// Last simulated bar.
    pub last_bar: Option<DateTime<Utc>>,
    /// The strategy, as text (`sma-cross fast=10 slow=50`; a sweep's best point).
    pub strategy: String,
    /// Engine settings.
    pub engine: EngineConfig,
    /// Periods per year used to annualise.
    pub periods_per_year: f64,
    /// The metrics.
    pub metrics: Metrics,
    /// Trades opened.
    pub trades: usize,
    /// The forecaster of a model strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelUse>,
    /// The sweep, when the run was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
    /// Object-store keys of the tables and of this summary, by table name
    /// (`equity`, `trades`, `sweep`, `summary`).
    pub artifacts: BTreeMap<String, String>,
}

/// How a model strategy's forecasts were made.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelUse {
    /// The forecaster and its walk-forward settings.
    pub settings: ModelSettings,
    /// Bars with a forecast in force.
    pub bars_with_forecast: usize,
    /// Forecast windows that failed.
    pub failed_windows: usize,
}

/// A sweep's ranking.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepSummary {
    /// Points run.
    pub points: usize,
    /// Combinations the strategy refused (e.g. fast ≥ slow).
    pub skipped: usize,
    /// Metric ranked by.
    pub rank_by: String,
    /// The best points, best first.
    pub top: Vec<SweepPoint>,
}
