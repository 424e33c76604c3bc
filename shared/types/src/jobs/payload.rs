//! Job payloads as stored in `jobs.payload`, and the forecast they produce.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Calendar, Candle, Interval};

/// Models every worker can run without weights.
pub const BASELINE_MODELS: [&str; 2] = ["naive", "drift"];

/// Checks a model name: lower-case letters, digits, `.`, `_`, `-`; at most 64; not a
/// baseline's name.
pub fn validate_model_name(name: &str) -> crate::Result<()> {
    let ok_first = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if !(ok_first && ok_rest && name.len() <= 64) {
        return Err(crate::Error::invalid(
            "name",
            format!("model name {name:?} must be 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"),
        ));
    }
    if BASELINE_MODELS.contains(&name) {
        return Err(crate::Error::invalid("name", format!("{name:?} is a built-in baseline")));
    }
    Ok(())
}

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
    /// The trading calendar the forecast's bar times follow (the asset's; for inline
    /// candles the request's, or inferred from them).
    #[serde(default)]
    pub calendar: Calendar,
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
    /// Default sample paths, wherever sampling settings are read (predictions,
    /// backtests, evaluations, the CLI): enough paths for `prob_up` and the p10–p90
    /// band to mean something (one path makes `prob_up` 0 or 1 and collapses the band).
    pub const DEFAULT_SAMPLES: usize = 8;
    /// Default temperature.
    pub const DEFAULT_TEMPERATURE: f64 = 1.0;
    /// Default top-k (off).
    pub const DEFAULT_TOP_K: usize = 0;
    /// Default nucleus threshold (the reference predictor's).
    pub const DEFAULT_TOP_P: f64 = 0.9;
    /// Most sample paths per job.
    pub const MAX_SAMPLES: usize = 256;
    /// Highest softmax temperature.
    pub const MAX_TEMPERATURE: f64 = 100.0;
    /// Highest top-k (beyond the vocabulary it keeps everything, as 0 does).
    pub const MAX_TOP_K: usize = 1_000_000;
    /// Highest seed: 2^53 − 1, the largest integer every JSON client (JavaScript
    /// included) reads exactly.
    pub const MAX_SEED: u64 = (1 << 53) - 1;
}

/// A seed must be one every JSON client reads exactly (0 to 2^53 − 1).
pub fn validate_seed(field: &str, seed: u64) -> crate::Result<()> {
    crate::ranges::check_int(field, seed, 0, KronosSettings::MAX_SEED)
}

/// The one check of Kronos sampling settings, wherever they arrive (predictions,
/// backtests' and evaluations' model settings): errors name the field.
pub fn validate_sampling(samples: usize, temperature: f64, top_k: usize, top_p: f64) -> crate::Result<()> {
    use crate::ranges::{check_f64, check_int};
    check_int("samples", samples, 1, KronosSettings::MAX_SAMPLES)?;
    if !(temperature.is_finite() && temperature > 0.0 && temperature <= KronosSettings::MAX_TEMPERATURE) {
        return Err(crate::Error::invalid(
            "temperature",
            format!("temperature must be above 0 and at most {}", KronosSettings::MAX_TEMPERATURE),
        ));
    }
    check_int("top_k", top_k, 0, KronosSettings::MAX_TOP_K)?;
    if top_p <= 0.0 {
        return Err(crate::Error::invalid("top_p", "top_p must be above 0 and at most 1"));
    }
    check_f64("top_p", top_p, 0.0, 1.0)
}

/// Kronos sampling settings with every default resolved: the one set of defaults
/// (the `DEFAULT_*` constants of [`KronosSettings`]) and the one check
/// ([`validate_sampling`], [`validate_seed`]) for predictions, backtests and evaluations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Sample paths.
    pub samples: usize,
    /// Softmax temperature.
    pub temperature: f64,
    /// Top-k filter (0 = off; 1 = greedy).
    pub top_k: usize,
    /// Nucleus threshold.
    pub top_p: f64,
    /// Seed of the sample paths.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            samples: KronosSettings::DEFAULT_SAMPLES,
            temperature: KronosSettings::DEFAULT_TEMPERATURE,
            top_k: KronosSettings::DEFAULT_TOP_K,
            top_p: KronosSettings::DEFAULT_TOP_P,
            seed: 0,
        }
    }
}

impl Sampling {
    /// Checks every setting; the error names the bad one (`samples`, `seed`, …).
    pub fn validate(&self) -> crate::Result<()> {
        validate_sampling(self.samples, self.temperature, self.top_k, self.top_p)?;
        validate_seed("seed", self.seed)
    }
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
        /// A backdated forecast: from the candles that had closed by this time only.
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::time::optional")]
        as_of: Option<DateTime<Utc>>,
    },
    /// Candles sent with the request.
    Inline {
        /// Oldest first.
        candles: Vec<Candle>,
    },
}

/// One forecast step: the mean path, as a consistent bar, plus close quantiles across
/// sample paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl ForecastRow {
    /// The step at `ts` from the model's mean-path bar `raw` (open, high, low, close,
    /// volume, amount), made a consistent candle: open and close as the model gave them,
    /// high the largest and low the smallest of the four prices (an average of sample
    /// paths can put the mean high below the mean open or close), volume and amount not
    /// below zero. The raw bar stays in [`RawBar`].
    pub fn consistent(ts: DateTime<Utc>, raw: [f64; 6], p10: f64, p50: f64, p90: f64) -> Self {
        let [open, high, low, close, volume, amount] = raw;
        Self {
            ts,
            open,
            high: open.max(high).max(low).max(close),
            low: open.min(high).min(low).min(close),
            close,
            volume: volume.max(0.0),
            amount: amount.max(0.0),
            p10,
            p50,
            p90,
        }
    }

    /// Whether the row is a valid candle (high ≥ open, close ≥ low; volume ≥ 0).
    pub fn is_consistent(&self) -> bool {
        self.high >= self.open.max(self.close)
            && self.low <= self.open.min(self.close)
            && self.low <= self.high
            && self.volume >= 0.0
            && self.amount >= 0.0
    }
}

/// One step of the mean path exactly as the model produced it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawBar {
    /// Bar time.
    pub ts: DateTime<Utc>,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume.
    pub volume: f64,
    /// Amount.
    pub amount: f64,
}

impl RawBar {
    /// The bar `[open, high, low, close, volume, amount]` at `ts`.
    pub fn new(ts: DateTime<Utc>, bar: [f64; 6]) -> Self {
        let [open, high, low, close, volume, amount] = bar;
        Self { ts, open, high, low, close, volume, amount }
    }
}

/// Which way a forecast points, by its probability of ending above the last close:
/// `up` above 0.5, `down` below, `flat` at exactly 0.5.
pub fn direction_of(prob_up: f64) -> &'static str {
    if prob_up > 0.5 {
        "up"
    } else if prob_up < 0.5 {
        "down"
    } else {
        "flat"
    }
}

/// Which way a forecast points and what its horizon holds (see `kronos_models::HorizonRisk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastSummary {
    /// `up` (prob_up > 0.5), `down` (< 0.5) or `flat`.
    pub direction: String,
    /// The mean path's final close over the last close, minus 1.
    pub expected_return: f64,
    /// Standard deviation of the horizon returns across sample paths.
    pub volatility: f64,
    /// Minus the 5th percentile of the horizon returns (a loss as a positive fraction).
    pub value_at_risk_5: f64,
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
    /// Direction, expected return and risk over the horizon.
    #[serde(flatten)]
    pub summary: ForecastSummary,
    /// The calendar of the bar times.
    pub calendar: Calendar,
    /// For a backdated forecast: the time it was made as of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// The forecast, one consistent bar per step.
    pub rows: Vec<ForecastRow>,
    /// The model's mean path as it came out.
    pub raw: Vec<RawBar>,
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

impl VerificationPayload {
    /// Default predictions examined by one job.
    pub const DEFAULT_LIMIT: i64 = 10_000;
}

fn default_verification_limit() -> i64 {
    VerificationPayload::DEFAULT_LIMIT
}

/// A cleanup job: delete forecast documents made before `before` (their `predictions`
/// rows keep the forecast) and the checkpoints of training jobs that failed or were
/// cancelled before it. The scheduler sets `before` from the slot and the retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupPayload {
    /// The retention cut-off.
    pub before: DateTime<Utc>,
}

/// An email job: deliver message `outbox_id` of the email outbox (once: a delivered
/// message is not sent again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailPayload {
    /// The outbox row.
    pub outbox_id: uuid::Uuid,
}
