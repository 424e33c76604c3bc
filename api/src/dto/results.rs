//! The result documents of succeeded jobs, as `GET /v1/jobs/{id}/result` shows them
//! (each kind's own route shows its kind's).

use kronos_backtest::summary::BacktestSummary;
use kronos_exchanges::refresh::RefreshResult;
use kronos_types::jobs::results::{CleanupResult, EmailResult, EvaluationResult, TrainingResult, VerificationResult};
use serde::Serialize;
use utoipa::ToSchema;

/// The result of a succeeded job: its kind's document. Predictions have none here
/// (`null`; their forecast is at `/v1/predictions/{id}`). Only its schema is used: the
/// routes show the stored document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum JobResult {
    /// A training job's.
    Training(Box<TrainingResult>),
    /// A verification job's.
    Verification(VerificationResult),
    /// An evaluation job's.
    Evaluation(Box<EvaluationResult>),
    /// A backtest job's.
    Backtest(Box<BacktestSummary>),
    /// A refresh job's.
    Refresh(Box<RefreshResult>),
    /// A cleanup job's.
    Cleanup(CleanupResult),
    /// An email job's.
    Email(EmailResult),
}
