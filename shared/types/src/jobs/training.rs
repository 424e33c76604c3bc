//! The training job's payload: what to train, on which candles, for how long.
//!
//! One payload serves the API (`POST /v1/trainings`), the scheduler's nightly
//! retraining and `kronos train`; [`TrainingPayload::validate`] names the offending
//! field for every refusal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{error::Error, registry::ModelFamily, Interval};

/// Kronos presets that can be trained from random weights.
pub const PRESETS: [&str; 2] = ["mini", "small"];
/// Most steps one job may run (per stage).
pub const MAX_STEPS: usize = 1_000_000;

/// A training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingPayload {
    /// `kronos`, `lstm`, `gru` or `transformer`.
    #[serde(default = "default_family")]
    pub family: ModelFamily,
    /// Registry lineage the trained version joins (default: the starting model's
    /// lineage, or `<family>-<preset>-<interval>` for a fresh model).
    #[serde(default)]
    pub lineage: Option<String>,
    /// Registered model to fine-tune (`lineage`, `lineage@N` or a version name).
    #[serde(default)]
    pub from_model: Option<String>,
    /// Kronos preset to start from random weights (`mini` or `small`).
    #[serde(default)]
    pub preset: Option<String>,
    /// Assets to train on.
    pub symbols: Vec<String>,
    /// Candle interval.
    pub interval: Interval,
    /// First candle (default: all history).
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// Last candle (default: the latest).
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// Optimiser steps of the predictor stage (Kronos) or the regressor.
    pub steps: usize,
    /// Steps of the Kronos tokenizer stage (default: a quarter of `steps`).
    #[serde(default)]
    pub tokenizer_steps: Option<usize>,
    /// Windows per step.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Bars of history per window.
    #[serde(default = "default_lookback")]
    pub lookback: usize,
    /// Bars forecast per window (validation metrics are over this horizon).
    #[serde(default = "default_horizon")]
    pub horizon: usize,
    /// Peak learning rate of the predictor stage or the regressor (default: 4e-5 when
    /// fine-tuning Kronos as the reference does, 1e-3 from random weights).
    #[serde(default)]
    pub learning_rate: Option<f64>,
    /// Peak learning rate of the tokenizer stage (default 2e-4 fine-tuning, 1e-3 fresh).
    #[serde(default)]
    pub tokenizer_learning_rate: Option<f64>,
    /// Share of the bars (the latest) kept for validation.
    #[serde(default = "default_validation")]
    pub validation_fraction: f64,
    /// Steps between validation losses.
    #[serde(default = "default_eval_every")]
    pub eval_every: usize,
    /// Steps between checkpoints.
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Seed of initialisation, batches and sampling.
    #[serde(default)]
    pub seed: u64,
    /// Promote the new version when it beats production on the same validation windows.
    #[serde(default = "default_true")]
    pub auto_promote: bool,
}

/// Defaults of the optional fields.
impl TrainingPayload {
    /// Default family.
    pub const DEFAULT_FAMILY: ModelFamily = ModelFamily::Kronos;
    /// Default windows per step.
    pub const DEFAULT_BATCH_SIZE: usize = 16;
    /// Default bars of history per window.
    pub const DEFAULT_LOOKBACK: usize = 64;
    /// Default bars forecast per window.
    pub const DEFAULT_HORIZON: usize = 8;
    /// Default share of bars kept for validation.
    pub const DEFAULT_VALIDATION_FRACTION: f64 = 0.2;
    /// Default steps between validation losses.
    pub const DEFAULT_EVAL_EVERY: usize = 50;
    /// Default steps between checkpoints.
    pub const DEFAULT_CHECKPOINT_EVERY: usize = 100;
}

fn default_family() -> ModelFamily {
    TrainingPayload::DEFAULT_FAMILY
}
fn default_batch() -> usize {
    TrainingPayload::DEFAULT_BATCH_SIZE
}
fn default_lookback() -> usize {
    TrainingPayload::DEFAULT_LOOKBACK
}
fn default_horizon() -> usize {
    TrainingPayload::DEFAULT_HORIZON
}
fn default_validation() -> f64 {
    TrainingPayload::DEFAULT_VALIDATION_FRACTION
}
fn default_eval_every() -> usize {
    TrainingPayload::DEFAULT_EVAL_EVERY
}
fn default_checkpoint_every() -> usize {
    TrainingPayload::DEFAULT_CHECKPOINT_EVERY
}
fn default_true() -> bool {
    true
}

impl TrainingPayload {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let kronos = self.family == ModelFamily::Kronos;
        match (&self.from_model, &self.preset) {
            (Some(_), Some(_)) => return Err(Error::invalid("preset", "give from_model or preset, not both")),
            (None, None) if kronos => {
                return Err(Error::invalid("from_model", "give from_model (fine-tune) or preset (fresh weights)"))
            }
            (Some(_), None) if !kronos => {
                return Err(Error::invalid("from_model", "baseline regressors train from fresh weights only"))
            }
            (None, Some(_)) if !kronos => return Err(Error::invalid("preset", "presets are Kronos sizes")),
            _ => {}
        }
        if let Some(preset) = &self.preset {
            if !PRESETS.contains(&preset.as_str()) {
                return Err(Error::invalid("preset", format!("unknown preset {preset:?}; expected mini or small")));
            }
        }
        if let Some(lineage) = &self.lineage {
            crate::jobs::payload::validate_model_name(lineage).map_err(|e| Error::invalid("lineage", e.to_string()))?;
        }
        if self.symbols.is_empty() || self.symbols.len() > 100 {
            return Err(Error::invalid("symbols", "give 1 to 100 symbols"));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from >= to {
                return Err(Error::invalid("from", "from must be before to"));
            }
        }
        let ranges: [(&'static str, usize, usize, usize); 6] = [
            ("steps", self.steps, 1, MAX_STEPS),
            ("tokenizer_steps", self.tokenizer_steps.unwrap_or(1), 0, MAX_STEPS),
            ("batch_size", self.batch_size, 1, 512),
            ("lookback", self.lookback, 4, 2048),
            ("horizon", self.horizon, 1, 512),
            ("eval_every", self.eval_every, 1, MAX_STEPS),
        ];
        for (field, value, lo, hi) in ranges {
            if !(lo..=hi).contains(&value) {
                return Err(Error::invalid(field, format!("{field} must be from {lo} to {hi}")));
            }
        }
        if !(1..=MAX_STEPS).contains(&self.checkpoint_every) {
            return Err(Error::invalid("checkpoint_every", format!("checkpoint_every must be from 1 to {MAX_STEPS}")));
        }
        for (field, lr) in
            [("learning_rate", self.learning_rate), ("tokenizer_learning_rate", self.tokenizer_learning_rate)]
        {
            if lr.is_some_and(|v| !(v > 0.0 && v <= 1.0)) {
                return Err(Error::invalid(field, format!("{field} must be in (0, 1]")));
            }
        }
        crate::jobs::payload::validate_seed("seed", self.seed)?;
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 0.9) {
            return Err(Error::invalid("validation_fraction", "validation_fraction must be in (0, 0.9)"));
        }
        Ok(())
    }

    /// Tokenizer-stage steps (Kronos; 0 for regressors).
    pub fn tokenizer_steps(&self) -> usize {
        if self.family == ModelFamily::Kronos {
            self.tokenizer_steps.unwrap_or(self.steps / 4)
        } else {
            0
        }
    }

    /// Peak learning rates `(tokenizer, predictor)`.
    pub fn learning_rates(&self) -> (f64, f64) {
        let fine_tune = self.from_model.is_some();
        let tok = self.tokenizer_learning_rate.unwrap_or(if fine_tune { 2e-4 } else { 1e-3 });
        let pred = self.learning_rate.unwrap_or(if fine_tune { 4e-5 } else { 1e-3 });
        (tok, pred)
    }

    /// The lineage a fresh model joins when none is named.
    pub fn default_lineage(&self) -> String {
        let size = self.preset.as_deref().unwrap_or("model");
        if self.family == ModelFamily::Kronos {
            format!("kronos-{size}-{}", self.interval)
        } else {
            format!("{}-{}", self.family, self.interval)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> TrainingPayload {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names_the_bad_field() {
        let ok = json!({"preset": "mini", "symbols": ["AAPL"], "interval": "1d", "steps": 10});
        assert!(parse(ok.clone()).validate().is_ok());
        let field = |patch: serde_json::Value| {
            let mut v = ok.clone();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            match parse(v).validate() {
                Err(Error::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            }
        };
        let mut arima = ok.clone();
        arima["family"] = json!("arima");
        let refused = serde_json::from_value::<TrainingPayload>(arima).expect_err("unknown family");
        assert!(refused.to_string().contains("kronos"), "{refused}");
        assert_eq!(field(json!({"preset": "huge"})), "preset");
        assert_eq!(field(json!({"from_model": "x"})), "preset");
        assert_eq!(field(json!({"symbols": []})), "symbols");
        assert_eq!(field(json!({"steps": 0})), "steps");
        assert_eq!(field(json!({"batch_size": 0})), "batch_size");
        assert_eq!(field(json!({"learning_rate": -1.0})), "learning_rate");
        assert_eq!(field(json!({"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"})), "from");
        assert_eq!(field(json!({"lineage": "Bad Name"})), "lineage");
        assert_eq!(field(json!({"family": "lstm"})), "preset");
        let lstm = parse(json!({"family": "gru", "symbols": ["AAPL"], "interval": "1d", "steps": 10}));
        assert!(lstm.validate().is_ok());
        assert_eq!(lstm.tokenizer_steps(), 0);
        assert_eq!(lstm.default_lineage(), "gru-1d");
    }
}
