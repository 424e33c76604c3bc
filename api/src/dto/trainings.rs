//! `POST /v1/trainings`.

use chrono::{DateTime, Utc};
use kronos_types::{jobs::training::TrainingPayload, registry::ModelFamily, Interval};
use serde::Deserialize;
use utoipa::ToSchema;

/// Train a model (fine-tune a registered Kronos model, or train a fresh Kronos preset
/// or baseline regressor) on stored candles; the new version joins the registry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from_model": "kronos-mini", "symbols": ["AAPL", "MSFT"], "interval": "1d", "steps": 200}))]
pub struct CreateTraining {
    /// `kronos` (the default), `lstm`, `gru` or `transformer`.
    pub family: Option<ModelFamily>,
    /// Registry lineage the trained version joins (default: the starting model's, or
    /// `<family>-<preset>-<interval>` for a fresh model).
    pub lineage: Option<String>,
    /// Registered model to fine-tune (`lineage`, `lineage@N` or a version name).
    pub from_model: Option<String>,
    /// Kronos preset to start from random weights (`mini` or `small`).
    pub preset: Option<String>,
    /// Assets to train on (1–100).
    pub symbols: Vec<String>,
    /// Candle interval.
    pub interval: Interval,
    /// First candle (default: all history).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Last candle (default: the latest).
    #[serde(default, deserialize_with = "kronos_types::time::optional")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Optimiser steps of the predictor stage (Kronos) or the regressor (1–1,000,000).
    pub steps: usize,
    /// Steps of the Kronos tokenizer stage (default: a quarter of `steps`).
    pub tokenizer_steps: Option<usize>,
    /// Windows per step (1–512, default 16).
    pub batch_size: Option<usize>,
    /// Bars of history per window (4–2048, default 64).
    pub lookback: Option<usize>,
    /// Bars forecast per window (1–512, default 8).
    pub horizon: Option<usize>,
    /// Peak learning rate of the predictor stage or the regressor, in (0, 1] (default:
    /// 4e-5 fine-tuning Kronos, 1e-3 from random weights).
    pub learning_rate: Option<f64>,
    /// Peak learning rate of the tokenizer stage (default 2e-4 fine-tuning, 1e-3 fresh).
    pub tokenizer_learning_rate: Option<f64>,
    /// Share of the bars (the latest) kept for validation, in (0, 0.9) (default 0.2).
    pub validation_fraction: Option<f64>,
    /// Steps between validation losses (default 50).
    pub eval_every: Option<usize>,
    /// Steps between checkpoints (default 100).
    pub checkpoint_every: Option<usize>,
    /// Seed of initialisation, batches and sampling (default 0).
    pub seed: Option<u64>,
    /// Promote the new version when it beats production and naive on the same
    /// validation windows (default true).
    pub auto_promote: Option<bool>,
}

impl CreateTraining {
    /// The job's payload with every default filled in (checked by its `validate`).
    pub fn into_payload(self) -> TrainingPayload {
        TrainingPayload {
            family: self.family.unwrap_or(TrainingPayload::DEFAULT_FAMILY),
            lineage: self.lineage,
            from_model: self.from_model,
            preset: self.preset,
            symbols: self.symbols,
            interval: self.interval,
            from: self.from,
            to: self.to,
            steps: self.steps,
            tokenizer_steps: self.tokenizer_steps,
            batch_size: self.batch_size.unwrap_or(TrainingPayload::DEFAULT_BATCH_SIZE),
            lookback: self.lookback.unwrap_or(TrainingPayload::DEFAULT_LOOKBACK),
            horizon: self.horizon.unwrap_or(TrainingPayload::DEFAULT_HORIZON),
            learning_rate: self.learning_rate,
            tokenizer_learning_rate: self.tokenizer_learning_rate,
            validation_fraction: self.validation_fraction.unwrap_or(TrainingPayload::DEFAULT_VALIDATION_FRACTION),
            eval_every: self.eval_every.unwrap_or(TrainingPayload::DEFAULT_EVAL_EVERY),
            checkpoint_every: self.checkpoint_every.unwrap_or(TrainingPayload::DEFAULT_CHECKPOINT_EVERY),
            seed: self.seed.unwrap_or(0),
            auto_promote: self.auto_promote.unwrap_or(true),
        }
    }
}
