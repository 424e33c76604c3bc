//! `POST /v1/evaluations`.

use chrono::{DateTime, Utc};
use kronos_types::{jobs::evaluation::EvaluationPayload, Interval};
use serde::Deserialize;
use utoipa::ToSchema;

use super::walk_forward::ModelSettingsRequest;

/// Run a model walk-forward over stored candles and verify every forecast.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"symbols": ["AAPL"], "interval": "1d", "from": "2012-01-01",
    "model": {"name": "naive", "context": 64, "horizon": 5}}))]
pub struct CreateEvaluation {
    /// Assets whose stored candles are forecast (1–50).
    pub symbols: Vec<String>,
    /// Candle interval (default `1d`).
    pub interval: Option<Interval>,
    /// First bar a forecast is made at (default: the first with a full context).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Last bar a forecast is made at (default: the last with `horizon` bars after it).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// The model and how it forecasts.
    pub model: ModelSettingsRequest,
}

impl CreateEvaluation {
    /// The job's payload, before the handler resolves assets, calendars and the model.
    pub fn into_payload(self) -> EvaluationPayload {
        EvaluationPayload {
            symbols: self.symbols,
            asset_ids: Vec::new(),
            calendars: Vec::new(),
            interval: self.interval.unwrap_or(Interval::D1),
            from: self.from,
            to: self.to,
            model: self.model.into_settings(),
        }
    }
}
