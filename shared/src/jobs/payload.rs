//! Job payloads as stored in `jobs.payload`, and the forecast they produce.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::market_data::{Candle, Interval};

/// Models every worker can run without weights.
pub const BASELINE_MODELS: [&str; 2] = ["naive", "drift"];

/// Longest forecast horizon accepted.
pub const MAX_HORIZON: usize = 512;

/// Default number of stored candles used as context.
pub const DEFAULT_CONTEXT: usize = 512;

/// Longest context accepted.
pub const MAX_CONTEXT: usize = 4096;

/// A validated prediction request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionPayload {
    /// Model name.
    pub model: String,
    /// Candle interval.
    pub interval: Interval,
    /// Steps to forecast.
    pub horizon: usize,
    /// Where the history comes from.
    pub series: SeriesSource,
    /// Settings of a registered (Kronos) model; `None` for baselines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kronos: Option<KronosSettings>,
}

/// How a registered Kronos model runs a prediction (all defaults resolved at submission,
/// so a job is reproducible from its payload).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KronosSettings {
    /// The registry id of the model (names are resolved when the job is submitted).
    pub model_id: i64,
    /// Sample paths.
    pub samples: usize,
    /// Softmax temperature.
    pub temperature: f64,
    /// Top-k filter (0 = off; 1 = greedy).
    pub top_k: usize,
    /// Nucleus threshold (1 = off; ignored when top_k > 0).
    pub top_p: f64,
    /// Seed of the sample paths.
    pub seed: u64,
    /// Longest window the predictor sees.
    pub max_context: usize,
}

impl KronosSettings {
    /// Default sample paths (the reference predictor's `sample_count`).
    pub const DEFAULT_SAMPLES: usize = 1;
    /// Default temperature.
    pub const DEFAULT_TEMPERATURE: f64 = 1.0;
    /// Default top-k (off).
    pub const DEFAULT_TOP_K: usize = 0;
    /// Default nucleus threshold (the reference predictor's).
    pub const DEFAULT_TOP_P: f64 = 0.9;
    /// Most sample paths per job.
    pub const MAX_SAMPLES: usize = 256;
}

/// The history a prediction runs on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum SeriesSource {
    /// The latest `context` stored candles of an asset.
    Stored {
        /// Asset symbol.
        symbol: String,
        /// Asset id.
        asset_id: i64,
        /// Candles of context.
        context: usize,
    },
    /// Candles sent with the request.
    Inline {
        /// Oldest first.
        candles: Vec<Candle>,
    },
}

/// One forecast step: the mean path plus close quantiles across sample paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRow {
    /// Bar time.
    pub ts: DateTime<Utc>,
    /// Mean-path open.
    pub open: f64,
    /// Mean-path high.
    pub high: f64,
    /// Mean-path low.
    pub low: f64,
    /// Mean-path close.
    pub close: f64,
    /// Mean-path volume.
    pub volume: f64,
    /// Mean-path amount.
    pub amount: f64,
    /// 10th percentile of the close.
    pub p10: f64,
    /// Median close.
    pub p50: f64,
    /// 90th percentile of the close.
    pub p90: f64,
}

/// The forecast document stored in the object store for every prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastDocument {
    /// Producing job.
    pub job_id: uuid::Uuid,
    /// Model name.
    pub model: String,
    /// Interval.
    pub interval: Interval,
    /// Time of the last observed candle.
    pub last_ts: DateTime<Utc>,
    /// Last observed close.
    pub last_close: f64,
    /// Probability that the final close ends above `last_close`.
    pub prob_up: f64,
    /// The forecast, one row per step.
    pub rows: Vec<ForecastRow>,
}

/// A refresh job: fetch new bars of `interval` from the exchanges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshPayload {
    /// Candle interval.
    pub interval: Interval,
    /// Symbols to refresh; empty means every active asset some source knows.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// First bar to fetch (a backfill); `None` continues after the last stored bar.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

/// A verification job: compare expired forecasts of stored series with the candles
/// that followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationPayload {
    /// Most predictions examined by one job (oldest expiry first).
    #[serde(default = "default_verification_limit")]
    pub limit: i64,
}

fn default_verification_limit() -> i64 {
    10_000
}
