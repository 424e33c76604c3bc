//! `GET /v1/predictions`: the caller's prediction history, each forecast beside what
//! verification found of it once its bars arrived.

use chrono::{DateTime, Utc};
use kronos_db::predictions::{HistoryRow, Verification};
use kronos_types::jobs::payload::direction_of;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A page of predictions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionPage {
    /// Predictions.
    pub predictions: Vec<PredictionSummary>,
    /// The `cursor` of the next page (`null` on the last).
    pub next_cursor: Option<String>,
}

/// One prediction of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionSummary {
    /// The prediction job.
    pub id: Uuid,
    /// Asset symbol (`null` for inline candles).
    pub symbol: Option<String>,
    /// Candle interval.
    pub interval: String,
    /// The serving model version or baseline.
    pub model: String,
    /// Steps forecast.
    pub horizon: i32,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// When its last forecast bar closes.
    pub expires_at: DateTime<Utc>,
    /// Last observed close.
    pub last_close: f64,
    /// Expected return over the horizon.
    pub expected_return: Option<f64>,
    /// Probability that the last forecast close ends above the last observed close.
    pub prob_up: f64,
    /// `up`, `down` or `flat`.
    #[schema(example = "up")]
    pub direction: &'static str,
    /// The full forecast.
    #[schema(example = "/v1/predictions/0190c3e4-5b7a-7cc1-9e1e-3b2a1d0f9a11")]
    pub link: String,
    /// What verification found (`null` until it ran).
    pub verification: Option<VerificationView>,
}

/// A verified prediction beside naive.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    /// When it was verified.
    pub verified_at: DateTime<Utc>,
    /// Steps compared.
    pub steps: i32,
    /// Mean absolute error (price units).
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// The final direction was right.
    pub direction_hit: bool,
    /// Share of steps inside the p10–p90 band.
    pub coverage_p10_p90: f64,
    /// Naive's mean absolute error on the same steps.
    pub naive_mae: f64,
    /// Naive's direction was right.
    pub naive_direction_hit: bool,
    /// Whether the forecast's MAE is below naive's.
    pub beats_naive_mae: bool,
}

impl From<&Verification> for VerificationView {
    fn from(v: &Verification) -> Self {
        let n = f64::from(v.steps.max(1));
        let mae = v.abs_error_sum / n;
        let naive_mae = v.naive_abs_error_sum / n;
        Self {
            verified_at: v.verified_at,
            steps: v.steps,
            mae,
            rmse: (v.sq_error_sum / n).sqrt(),
            direction_hit: v.direction_hit,
            coverage_p10_p90: f64::from(v.covered_steps) / n,
            naive_mae,
            naive_direction_hit: v.naive_direction_hit,
            beats_naive_mae: mae < naive_mae,
        }
    }
}

impl From<HistoryRow> for PredictionSummary {
    fn from((p, symbol, verification): HistoryRow) -> Self {
        Self {
            id: p.job_id,
            symbol,
            link: format!("/v1/predictions/{}", p.job_id),
            interval: p.interval,
            model: p.model,
            horizon: p.horizon,
            created_at: p.created_at,
            expires_at: p.expires_at,
            last_close: p.last_close,
            expected_return: p.expected_return,
            direction: direction_of(p.prob_up),
            prob_up: p.prob_up,
            verification: verification.as_ref().map(VerificationView::from),
        }
    }
}
