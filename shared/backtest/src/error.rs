//! The error of backtests.

use thiserror::Error;

/// Errors of settings, data preparation and reports.
#[derive(Debug, Error)]
pub enum Error {
    /// A setting failed validation; `field` names it (`strategy.fast`, `engine.fee`).
    #[error("{message}")]
    Invalid {
        /// The field that failed validation.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The data cannot be backtested, or a table could not be written.
    #[error("data error: {0}")]
    Data(String),
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

impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Self {
        Self::Data(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::Data(e.to_string())
    }
}

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
