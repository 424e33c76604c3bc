//! The error of market-data work.

use thiserror::Error;

/// Errors of parsing, indicators and resampling.
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
    /// A file could not be read or a computation failed.
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

/// Result alias over [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
