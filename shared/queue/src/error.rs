//! The error of the job transport and dispatch.

use thiserror::Error;

/// Errors of enqueueing, dispatch and the Redis transport.
#[derive(Debug, Error)]
pub enum Error {
    /// Input failed validation; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        /// The field that failed validation.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// PostgreSQL, the system of record, refused.
    #[error(transparent)]
    Db(#[from] kronos_db::Error),
    /// Redis error.
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// Queue transport error.
    #[error("queue error: {0}")]
    Queue(String),
    /// A job reference could not be encoded.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// A batched write failed for the whole batch.
    #[error("batched write failed: {0}")]
    Batch(String),
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Db(e.into())
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
