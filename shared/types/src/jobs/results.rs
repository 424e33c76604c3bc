//! The result documents of jobs whose result is a report (`jobs.result`): the worker
//! writes them from these types and the API shows them as stored, documented by the
//! same types (`GET /v1/trainings/{id}`, `/v1/verifications/{id}`,
//! `/v1/evaluations/{id}`, `/v1/jobs/{id}/result`). Backtest and refresh results live
//! with their engines (`kronos_backtest::summary`, `kronos_exchanges::refresh`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{registry::ModelStatus, walk_forward::ModelSettings, Interval};

/// A forecaster's accuracy on verified forecasts: errors pooled over every step,
/// direction per forecast, and how often the actual close fell inside the forecast's
/// 10th–90th percentile band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelAccuracy {
    /// Mean absolute error (price units).
    pub mae: f64,
    /// Root mean squared error (price units).
    pub rmse: f64,
    /// Mean absolute percentage error as a fraction; `null` when a price was zero.
    pub mape: Option<f64>,
    /// Share of forecasts whose final close was on the right side of the last close.
    pub direction_accuracy: f64,
    /// Share of steps inside the p10–p90 band (nominal 0.8).
    pub coverage_p10_p90: f64,
}

/// The naive baseline's accuracy on the same forecasts (the last close for every step;
/// its direction is the last observed bar's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NaiveAccuracy {
    /// Mean absolute error (price units).
    pub mae: f64,
    /// Root mean squared error (price units).
    pub rmse: f64,
    /// Mean absolute percentage error as a fraction; `null` when a price was zero.
    pub mape: Option<f64>,
    /// Share of forecasts whose direction was right.
    pub direction_accuracy: f64,
}

/// A model's accuracy beside naive over a set of evaluation forecasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationAccuracy {
    /// Forecasts verified.
    pub forecasts: usize,
    /// Forecast steps verified.
    pub steps: i64,
    /// The model.
    pub model: ModelAccuracy,
    /// Naive on the same forecasts.
    pub naive: NaiveAccuracy,
    /// Whether the model's MAE is below naive's.
    pub beats_naive_mae: bool,
}

/// One asset of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetEvaluation {
    /// Asset symbol.
    pub symbol: String,
    /// Windows forecast.
    pub windows: usize,
    /// Windows whose forecast failed.
    pub failed_windows: usize,
    /// Time of the first forecast's last observed bar.
    pub first_forecast: Option<DateTime<Utc>>,
    /// Time of the last forecast's last observed bar.
    pub last_forecast: Option<DateTime<Utc>>,
    /// Accuracy on this asset; `null` when no forecast could be verified.
    pub accuracy: Option<EvaluationAccuracy>,
}

/// An evaluation job's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationResult {
    /// The model evaluated, as asked for.
    pub model: String,
    /// Its walk-forward settings.
    pub settings: ModelSettings,
    /// Candle interval.
    pub interval: Interval,
    /// Assets evaluated.
    pub symbols: Vec<String>,
    /// Forecasts verified.
    pub forecasts: usize,
    /// Windows whose forecast failed.
    pub failed_windows: usize,
    /// Accuracy over every asset; `null` when no forecast could be verified.
    pub accuracy: Option<EvaluationAccuracy>,
    /// Per asset.
    pub assets: Vec<AssetEvaluation>,
    /// Where the stored results are aggregated (`/v1/accuracy?...`).
    pub accuracy_link: String,
}

/// A verification job's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationResult {
    /// Expired predictions examined.
    pub examined: usize,
    /// Predictions verified (their results stored).
    pub verified: usize,
    /// Predictions still waiting for their actual candles.
    pub awaiting_candles: usize,
}

/// A cleanup job's result: what it removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CleanupResult {
    /// Forecast documents deleted.
    pub forecast_documents: usize,
    /// Checkpoint objects of failed or cancelled training jobs deleted.
    pub checkpoint_objects: usize,
}

/// A training job's result (also `kronos train --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrainingResult {
    /// The registered version's name.
    pub model: String,
    /// Its lineage.
    pub lineage: String,
    /// Its version in the lineage.
    pub version: i32,
    /// Its status after any promotion.
    pub status: ModelStatus,
    /// Whether it became the production version.
    pub promoted: bool,
    /// Why it was or was not promoted.
    pub promotion: String,
    /// Whether it beats naive on its validation windows.
    pub beats_naive: bool,
    /// Optimiser steps run (of the final stage).
    pub steps: usize,
    /// The step a checkpoint resumed from (0: a fresh run).
    pub resumed_from: usize,
    /// Training speed; `null` when nothing was timed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub tokens_per_second: f64,
    /// Training loss at each evaluation of the final stage.
    pub train_loss: Vec<f64>,
    /// Validation loss at each evaluation of the final stage.
    pub val_loss: Vec<f64>,
    /// The steps of those evaluations.
    pub eval_steps: Vec<usize>,
    /// The tokenizer's training losses (Kronos trained from scratch; else empty).
    pub tokenizer_train_loss: Vec<f64>,
    /// The tokenizer's validation losses.
    pub tokenizer_val_loss: Vec<f64>,
    /// The registered metrics document (validation loss, close metrics beside naive).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metrics: Option<serde_json::Value>,
}

/// An email job's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailResult {
    /// The outbox message.
    pub outbox_id: uuid::Uuid,
    /// What it was.
    pub kind: crate::accounts::EmailKind,
    /// When the SMTP server took it.
    pub delivered_at: DateTime<Utc>,
    /// Whether this job sent it (`false`: an earlier delivery of the job had).
    pub sent_now: bool,
}
