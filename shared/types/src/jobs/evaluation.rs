//! The evaluation job's payload: run a model walk-forward over stored history (the
//! forecast at bar t sees the `context` bars up to t only) and verify every forecast
//! against the bars that followed, so a model's accuracy beside naive is measured from
//! the first day, not only once live forecasts expire.
//!
//! The API validates it ([`EvaluationPayload::validate`] names the field) and resolves
//! the assets, their calendars and the model before enqueueing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    jobs::payload::{validate_sampling, validate_seed},
    walk_forward::ModelSettings,
    Calendar, Interval,
};

/// Most assets in one evaluation.
pub const MAX_SYMBOLS: usize = 50;

/// An evaluation job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationPayload {
    /// Assets whose stored candles are forecast.
    pub symbols: Vec<String>,
    /// Asset ids of `symbols` (resolved by the API).
    #[serde(default)]
    pub asset_ids: Vec<i64>,
    /// Trading calendars of `symbols` (resolved by the API).
    #[serde(default)]
    pub calendars: Vec<Calendar>,
    /// Candle interval.
    #[serde(default = "default_interval")]
    pub interval: Interval,
    /// First bar a forecast is made at (default: the first with a full context).
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// Last bar a forecast is made at (default: the last with `horizon` bars after it).
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// The model and how it forecasts: `name` (a registered model — a lineage means its
    /// production version — or `naive` / `drift`), `context`, `horizon`, `every`,
    /// sampling settings.
    pub model: ModelSettings,
}

fn default_interval() -> Interval {
    Interval::D1
}

impl EvaluationPayload {
    /// Checks everything but the names (looked up by the API).
    pub fn validate(&self) -> Result<()> {
        if self.symbols.is_empty() || self.symbols.len() > MAX_SYMBOLS {
            return Err(Error::invalid("symbols", format!("give 1 to {MAX_SYMBOLS} symbols")));
        }
        for (i, s) in self.symbols.iter().enumerate() {
            if self.symbols[..i].iter().any(|o| o.eq_ignore_ascii_case(s)) {
                return Err(Error::invalid(format!("symbols[{i}]"), format!("{s:?} is listed twice")));
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(Error::invalid("from", "from must not be after to"));
            }
        }
        let m = &self.model;
        if m.name.trim().is_empty() {
            return Err(Error::invalid("model.name", "name a registered model, naive or drift"));
        }
        let under = |Error::Invalid { field, message }: Error| Error::invalid(format!("model.{field}"), message);
        m.plan().validate().map_err(under)?;
        validate_sampling(m.samples, m.temperature, m.top_k, m.top_p).map_err(under)?;
        validate_seed("model.seed", m.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: serde_json::Value) -> String {
        let p: EvaluationPayload = serde_json::from_value(body).unwrap();
        match p.validate() {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_name_the_field() {
        assert_eq!(field(serde_json::json!({"symbols": [], "model": {"name": "drift"}})), "symbols");
        assert_eq!(field(serde_json::json!({"symbols": ["A", "a"], "model": {"name": "drift"}})), "symbols[1]");
        assert_eq!(field(serde_json::json!({"symbols": ["A"], "model": {"name": " "}})), "model.name");
        assert_eq!(
            field(serde_json::json!({"symbols": ["A"], "model": {"name": "drift", "horizon": 0}})),
            "model.horizon"
        );
        assert_eq!(
            field(serde_json::json!({"symbols": ["A"], "model": {"name": "drift", "samples": 0}})),
            "model.samples"
        );
        assert_eq!(
            field(
                serde_json::json!({"symbols": ["A"], "from": "2012-02-01", "to": "2012-01-01", "model": {"name": "drift"}})
            ),
            "from"
        );
        let ok: EvaluationPayload = serde_json::from_value(
            serde_json::json!({"symbols": ["GOOG"], "from": "2012-01-01", "model": {"name": "drift"}}),
        )
        .unwrap();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.model.horizon, 5);
    }
}
