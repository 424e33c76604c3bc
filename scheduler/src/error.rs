//! The error of the scheduler's tasks.

use thiserror::Error;

/// Errors of cron tasks and the refresh schedule.
#[derive(Debug, Error)]
pub enum Error {
    /// PostgreSQL refused.
    #[error(transparent)]
    Db(#[from] kronos_db::Error),
    /// A payload could not be encoded.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// The cron table is malformed.
    #[error("configuration error: {0}")]
    Config(String),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
