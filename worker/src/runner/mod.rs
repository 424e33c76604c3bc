//! Job runners, one module per kind. A runner does the work and records success
//! atomically with its results; the handler records failures.

pub mod backtest;
pub mod batch;
pub mod batch_chunk;
pub mod cleanup;
pub mod email;
pub mod evaluation;
pub mod prediction;
pub mod refresh;
pub mod scoring;
pub mod training;
pub mod verification;

use crate::error::Error as SharedError;
use kronos_db::jobs;

/// How an attempt ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Results written, job succeeded.
    Succeeded,
    /// A client cancelled the job while it ran; nothing was written.
    Cancelled,
    /// The attempt lost ownership of the job (its lease expired and another attempt
    /// took over); nothing was written.
    Superseded,
}

/// Why an attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JobFailure {
    /// Readable reason, stored on the job.
    pub message: String,
    /// Whether another attempt may succeed.
    pub retryable: bool,
}

impl JobFailure {
    /// A failure that no retry can fix (bad input).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false }
    }

    /// A failure another attempt may not meet (a dependency was down).
    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true }
    }
}

/// Ends an attempt that wrote nothing because it no longer owned the job: `cancelled`
/// when a client asked for it, otherwise superseded (another attempt owns the job).
pub(crate) async fn end_unowned(ctx: &crate::pool::PoolContext, job: &jobs::Claimed) -> Result<Outcome, JobFailure> {
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    if jobs::mark_cancelled(&mut conn, job.id, job.attempts).await? {
        Ok(Outcome::Cancelled)
    } else {
        Ok(Outcome::Superseded)
    }
}

/// Stores `result` as the job's result document and marks the attempt succeeded; an
/// attempt that no longer owns the job writes nothing and ends as [`end_unowned`].
pub(crate) async fn succeed_with<T: serde::Serialize>(
    ctx: &crate::pool::PoolContext,
    job: &jobs::Claimed,
    result: &T,
) -> Result<Outcome, JobFailure> {
    let document = serde_json::to_value(result).map_err(SharedError::from)?;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    if jobs::mark_succeeded_with_result(&mut conn, job.id, job.attempts, &document).await? {
        return Ok(Outcome::Succeeded);
    }
    drop(conn);
    end_unowned(ctx, job).await
}

impl From<SharedError> for JobFailure {
    fn from(e: SharedError) -> Self {
        match e {
            SharedError::Invalid { .. } | SharedError::NotFound(_) | SharedError::Json(_) | SharedError::Data(_) => {
                Self::permanent(e.to_string())
            }
            other => Self::transient(other.to_string()),
        }
    }
}

macro_rules! failure_from {
    ($($error:ty),*) => {$(
        impl From<$error> for JobFailure {
            fn from(e: $error) -> Self {
                SharedError::from(e).into()
            }
        }
    )*};
}

failure_from!(
    kronos_types::Error,
    kronos_db::Error,
    kronos_storage::Error,
    kronos_queue::Error,
    kronos_market_data::Error,
    kronos_backtest::Error
);
