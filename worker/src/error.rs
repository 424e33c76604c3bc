//! The worker's error type.

use thiserror::Error;

/// Errors of the worker's jobs: what the crates it calls raised, kept apart so a
/// failure is classified (permanent or worth a retry) by its kind.
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
    /// Another database failure.
    #[error(transparent)]
    Db(kronos_db::Error),
    /// No connection could be taken from the pool.
    #[error("database pool error: {0}")]
    Pool(String),
    /// The job transport failed.
    #[error(transparent)]
    Queue(#[from] kronos_queue::Error),
    /// Object-store error.
    #[error(transparent)]
    Storage(#[from] kronos_storage::Error),
    /// A batched database write failed for the whole batch.
    #[error("batched write failed: {0}")]
    Batch(String),
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

impl From<kronos_types::Error> for Error {
    fn from(e: kronos_types::Error) -> Self {
        let kronos_types::Error::Invalid { field, message } = e;
        Self::Invalid { field, message }
    }
}

impl From<kronos_db::Error> for Error {
    fn from(e: kronos_db::Error) -> Self {
        use kronos_db::Error as Db;
        match e {
            Db::NotFound(what) => Self::NotFound(what),
            Db::Invalid { field, message } => Self::Invalid { field, message },
            Db::Conflict { field, message } => Self::Conflict { field, message },
            Db::InUse(m) => Self::InUse(m),
            Db::Database(e) => Self::Database(e),
            Db::Pool(m) => Self::Pool(m),
            Db::Batch(m) => Self::Batch(m),
            Db::Data(m) => Self::Data(m),
            Db::Json(e) => Self::Json(e),
        }
    }
}

impl From<kronos_market_data::Error> for Error {
    fn from(e: kronos_market_data::Error) -> Self {
        match e {
            kronos_market_data::Error::Invalid { field, message } => Self::Invalid { field, message },
            kronos_market_data::Error::Data(m) => Self::Data(m),
        }
    }
}

impl From<kronos_backtest::Error> for Error {
    fn from(e: kronos_backtest::Error) -> Self {
        match e {
            kronos_backtest::Error::Invalid { field, message } => Self::Invalid { field, message },
            kronos_backtest::Error::Data(m) => Self::Data(m),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Pool(e.to_string())
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
