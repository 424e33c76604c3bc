//! `POST /v1/predictions` and `GET /v1/predictions/{id}`.

use chrono::{DateTime, Utc};
use kronos_db::predictions::Prediction;
use kronos_types::{
    jobs::payload::{direction_of, ForecastRow, Sampling},
    Candle,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::sampling::SamplingFields;
use crate::error::{ApiError, ApiResult};

/// A forecast of one series: either `symbol` (its stored candles) or `candles`
/// (inline history), never both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"symbol": "AAPL", "interval": "1d", "horizon": 5, "model": "naive"}))]
pub struct CreatePrediction {
    /// Asset symbol whose stored candles are the history.
    pub symbol: Option<String>,
    /// Inline history, oldest first (at most `KRONOS_API_MAX_INLINE_CANDLES`).
    pub candles: Option<Vec<Candle>>,
    /// Candle interval: `1m`, `5m`, `15m`, `30m`, `1h`, `4h`, `1d` or `1w`.
    #[schema(example = "1d")]
    pub interval: String,
    /// Steps to forecast (1–512).
    #[schema(minimum = 1, maximum = 512)]
    pub horizon: i64,
    /// A registered model (`lineage`, `lineage@N`, a version name; a lineage means its
    /// production version) or a baseline, `naive` or `drift`.
    pub model: String,
    /// Stored candles only: candles of context (default 512, at most 4096).
    pub context: Option<i64>,
    /// Higher runs first (−100 to 100, default 0).
    #[schema(minimum = -100, maximum = 100)]
    pub priority: Option<i16>,
    /// Kronos: sample paths (1–256, default 8).
    #[schema(minimum = 1, maximum = 256)]
    pub samples: Option<i64>,
    /// Kronos: softmax temperature (above 0, at most 100; default 1).
    pub temperature: Option<f64>,
    /// Kronos: keep the k most likely tokens (0 = off, the default; 1 = greedy).
    #[schema(minimum = 0)]
    pub top_k: Option<i64>,
    /// Kronos: nucleus threshold in (0, 1] (default 0.9; ignored when top_k > 0).
    pub top_p: Option<f64>,
    /// Kronos: seed of the sample paths (0 to 2^53 − 1, default 0).
    #[schema(maximum = 9007199254740991_u64)]
    pub seed: Option<u64>,
    /// Kronos: longest window the model sees (default: the model's).
    pub max_context: Option<i64>,
    /// Stored candles only: forecast as of this time, from the bars that had closed by
    /// then (RFC 3339, `YYYY-MM-DD` or Unix seconds).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub as_of: Option<DateTime<Utc>>,
    /// Inline candles only: the trading calendar of the future bars (default: always
    /// open when a bar falls on a weekend, else weekdays). Stored series follow their
    /// asset's calendar.
    #[schema(value_type = Option<kronos_types::Calendar>)]
    pub calendar: Option<String>,
    /// Where to POST the job's outcome when it ends (signed like batch callbacks).
    /// Loopback, private and link-local addresses are refused.
    pub callback_url: Option<String>,
}

impl CreatePrediction {
    /// The Kronos-only fields that were given, by name.
    pub fn kronos_fields(&self) -> Vec<&'static str> {
        let mut given = self.sampling_fields().given();
        if self.max_context.is_some() {
            given.push("max_context");
        }
        given
    }

    /// The sampling settings as given (a negative count becomes a 422 in [`Self::sampling`]).
    fn sampling_fields(&self) -> SamplingFields {
        SamplingFields {
            samples: self.samples.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            temperature: self.temperature,
            top_k: self.top_k.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            top_p: self.top_p,
            seed: self.seed,
        }
    }

    /// The sampling settings with the platform's defaults, checked; errors name the field.
    pub fn sampling(&self) -> ApiResult<Sampling> {
        for (field, value) in [("samples", self.samples), ("top_k", self.top_k)] {
            if value.is_some_and(|n| n < 0) {
                return Err(ApiError::invalid(field, format!("{field} must be zero or more")));
            }
        }
        self.sampling_fields().resolve("")
    }
}

/// A finished prediction.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionView {
    /// The job (and prediction) id.
    pub id: Uuid,
    /// Asset symbol, for stored series.
    pub symbol: Option<String>,
    /// Model.
    pub model: String,
    /// Interval.
    #[schema(value_type = kronos_types::Interval)]
    pub interval: String,
    /// Steps.
    pub horizon: i32,
    /// The trading calendar the forecast's bar times follow.
    #[schema(value_type = kronos_types::Calendar)]
    pub calendar: String,
    /// For a backdated forecast: the time it was made as of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// Last observed candle time.
    pub last_ts: DateTime<Utc>,
    /// Last observed close.
    pub last_close: f64,
    /// Probability that the final close ends above `last_close`.
    pub prob_up: f64,
    /// `up` (prob_up > 0.5), `down` (< 0.5) or `flat`.
    #[schema(value_type = String, example = "up")]
    pub direction: &'static str,
    /// The mean path's final close over the last close, minus 1.
    pub expected_return: Option<f64>,
    /// Standard deviation of the horizon returns across sample paths.
    pub volatility: Option<f64>,
    /// 5 % value at risk over the horizon (a loss as a positive fraction of the last close).
    pub value_at_risk_5: Option<f64>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the horizon has passed.
    pub expires_at: DateTime<Utc>,
    /// Object-store key of the forecast document.
    pub artifact_key: String,
    /// Forecast rows (mean path as consistent candles, close quantiles).
    pub forecast: Vec<ForecastRow>,
    /// The model's mean path as it came out (with `?include=raw`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<kronos_types::jobs::payload::RawBar>>)]
    pub raw_forecast: Option<serde_json::Value>,
}

impl PredictionView {
    /// Builds the view of a stored prediction; `raw` keeps the raw mean path.
    pub fn new(p: Prediction, symbol: Option<String>, raw: bool) -> Result<Self, serde_json::Error> {
        Ok(Self {
            forecast: serde_json::from_value(p.forecast)?,
            id: p.job_id,
            symbol,
            model: p.model,
            interval: p.interval,
            horizon: p.horizon,
            calendar: p.calendar.unwrap_or_else(|| "always_open".to_owned()),
            as_of: p.as_of,
            last_ts: p.last_ts,
            last_close: p.last_close,
            prob_up: p.prob_up,
            direction: direction_of(p.prob_up),
            expected_return: p.expected_return,
            volatility: p.volatility,
            value_at_risk_5: p.value_at_risk_5,
            created_at: p.created_at,
            expires_at: p.expires_at,
            artifact_key: p.artifact_key,
            raw_forecast: if raw { p.raw_forecast } else { None },
        })
    }
}
