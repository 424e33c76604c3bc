//! Jobs: kinds and statuses, what travels through Redis, and the payloads stored in
//! `jobs.payload`.

pub mod evaluation;
pub mod payload;
pub mod results;
pub mod training;

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobKind {
    /// Forecast one series.
    Prediction,
    /// Train or fine-tune a model.
    Training,
    /// Compare expired forecasts with what happened.
    Verification,
    /// Run a backtest.
    Backtest,
    /// Fetch new candles from exchanges.
    Refresh,
    /// Run a model walk-forward over stored history and verify every forecast.
    Evaluation,
    /// Delete stored artifacts past their retention.
    Cleanup,
    /// Deliver one message of the email outbox.
    Email,
    /// Validate a bulk batch's upload and split it into chunks, or assemble its results.
    Batch,
    /// Forecast one chunk of a bulk batch's series.
    BatchChunk,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 10] = [
        Self::Prediction,
        Self::Training,
        Self::Verification,
        Self::Backtest,
        Self::Refresh,
        Self::Evaluation,
        Self::Cleanup,
        Self::Email,
        Self::Batch,
        Self::BatchChunk,
    ];

    /// Database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prediction => "prediction",
            Self::Training => "training",
            Self::Verification => "verification",
            Self::Backtest => "backtest",
            Self::Refresh => "refresh",
            Self::Evaluation => "evaluation",
            Self::Cleanup => "cleanup",
            Self::Email => "email",
            Self::Batch => "batch",
            Self::BatchChunk => "batch_chunk",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The word stored in `jobs.kind`.
impl From<JobKind> for String {
    fn from(kind: JobKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl FromStr for JobKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            Error::invalid(
                "kind",
                format!(
                    "unknown job kind {s:?}; expected prediction, training, verification, backtest, refresh, evaluation, cleanup, email, batch or batch_chunk"
                ),
            )
        })
    }
}

/// Job statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobStatus {
    /// Written, waiting for a worker.
    Queued,
    /// A worker has it.
    Running,
    /// Failed an attempt; waits for its backoff to pass.
    Retrying,
    /// Done.
    Succeeded,
    /// Failed for good.
    Failed,
    /// Cancelled by a client.
    Cancelled,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 6] =
        [Self::Queued, Self::Running, Self::Retrying, Self::Succeeded, Self::Failed, Self::Cancelled];

    /// Database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the status is final.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl FromStr for JobStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            Error::invalid(
                "status",
                format!("unknown status {s:?}; expected queued, running, retrying, succeeded, failed or cancelled"),
            )
        })
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What travels through Redis: only the job id. Everything else is read from PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    /// The `jobs` row.
    pub id: Uuid,
}
