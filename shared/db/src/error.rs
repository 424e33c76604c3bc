//! The error of database access.

use thiserror::Error;

/// Errors of queries, the pool and batched writes.
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
    /// A request conflicts with stored state (e.g. a name that is taken).
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
    /// A batched write failed for the whole batch.
    #[error("batched write failed: {0}")]
    Batch(String),
    /// A stored value could not be read back.
    #[error("data error: {0}")]
    Data(String),
    /// JSON (de)serialisation error.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// A validation error on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<kronos_types::Error> for Error {
    fn from(e: kronos_types::Error) -> Self {
        let kronos_types::Error::Invalid { field, message } = e;
        Self::Invalid { field, message }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Pool(e.to_string())
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
