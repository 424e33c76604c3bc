//! `GET /v1/accuracy`: verified accuracy per group, beside naive on the same
//! predictions.

use kronos_db::prediction_results::AccuracyRow;
use kronos_types::jobs::results::{ModelAccuracy, NaiveAccuracy};
use serde::Serialize;
use utoipa::ToSchema;

/// Accuracy of verified forecasts, grouped.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccuracyReport {
    /// What the groups are: `model`, `asset`, `user`, `source` or `all`.
    #[schema(example = "model")]
    pub group_by: String,
    /// One per group, with at least one verified prediction.
    pub groups: Vec<AccuracyGroup>,
    /// How each figure is computed.
    pub definitions: AccuracyDefinitions,
}

/// One group's accuracy beside naive.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccuracyGroup {
    /// The group: a version name, symbol, user id, source or `all`.
    pub key: String,
    /// Predictions verified.
    pub predictions: i64,
    /// Forecast steps verified.
    pub steps: i64,
    /// The forecasts.
    pub model: ModelAccuracy,
    /// Naive on the same predictions.
    pub naive: NaiveAccuracy,
    /// Whether the forecasts' MAE is below naive's.
    pub beats_naive_mae: bool,
}

impl From<&AccuracyRow> for AccuracyGroup {
    fn from(r: &AccuracyRow) -> Self {
        Self {
            key: r.key.clone(),
            predictions: r.predictions,
            steps: r.steps,
            model: ModelAccuracy {
                mae: r.mae,
                rmse: r.rmse,
                mape: r.mape,
                direction_accuracy: r.direction_accuracy,
                coverage_p10_p90: r.coverage_p10_p90,
            },
            naive: NaiveAccuracy {
                mae: r.naive_mae,
                rmse: r.naive_rmse,
                mape: r.naive_mape,
                direction_accuracy: r.naive_direction_accuracy,
            },
            beats_naive_mae: r.mae < r.naive_mae,
        }
    }
}

/// The definitions of the figures, in words.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccuracyDefinitions {
    /// MAE, RMSE and MAPE.
    pub mae_rmse_mape: &'static str,
    /// Direction accuracy.
    pub direction_accuracy: &'static str,
    /// Band coverage.
    pub coverage_p10_p90: &'static str,
    /// The naive baseline.
    pub naive: &'static str,
    /// The sources.
    pub source: &'static str,
}

impl AccuracyDefinitions {
    /// The platform's definitions.
    pub const STANDARD: Self = Self {
        mae_rmse_mape: "pooled over every verified forecast step",
        direction_accuracy: "share of predictions whose final close was on the right side of the last observed close",
        coverage_p10_p90: "share of steps whose actual close fell inside the forecast's 10th–90th percentile band (nominal 0.8)",
        naive: "the last observed close for every step; its direction is the last observed bar's",
        source: "live: predictions verified once their bars arrived; evaluation: walk-forward forecasts of evaluation jobs, verified on stored history",
    };
}
