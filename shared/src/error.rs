//! The library error type shared by every crate.

use thiserror::Error;

/// Errors raised by the shared library.
#[derive(Debug, Error)]
pub enum Error {
    /// A row that was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Input failed validation; `field` names the offending field.
    #[error("{message}")]
    Invalid {
        /// The field that failed validation.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A request conflicts with stored state (e.g. idempotency key reused with another body).
    #[error("{message}")]
    Conflict {
        /// The field that conflicts.
        field: String,
        /// What conflicts.
        message: String,
    },
    /// The record cannot be removed or changed while other records use it (a 409).
    #[error("{0}")]
    InUse(String),
    /// PostgreSQL query error.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// No connection could be taken from the pool.
    #[error("database pool error: {0}")]
    Pool(String),
    /// Redis error.
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// Object-store error.
    #[error("object store error: {0}")]
    Storage(#[from] object_store::Error),
    /// A batched database write failed for the whole batch.
    #[error("batched write failed: {0}")]
    Batch(String),
    /// Queue transport error.
    #[error("queue error: {0}")]
    Queue(String),
    /// Data import or processing error.
    #[error("data error: {0}")]
    Data(String),
    /// JSON (de)serialisation error.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// Configuration error.
    #[error("configuration error: {0}")]
    Config(String),
}

impl Error {
    /// A validation error on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Pool(e.to_string())
    }
}

impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Self {
        Self::Data(e.to_string())
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
